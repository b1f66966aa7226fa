"""Settings: defaults, secret masking and the production checks."""

from __future__ import annotations

import pytest

from tokenward.config import (
    ConfigurationError,
    Settings,
    check_settings,
    production_problems,
)

STRONG = "s" * 40


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type, call-arg]


def test_secret_values_are_masked_in_repr() -> None:
    config = settings(secret_key=STRONG, signing_alg="HS256")

    assert STRONG not in repr(config)
    assert STRONG not in str(config)


def test_development_defaults_start() -> None:
    check_settings(settings())


def test_safe_production_settings_have_no_problems() -> None:
    config = settings(
        env="production",
        issuer="https://auth.example.com",
        database_url="postgresql+asyncpg://db/auth",
    )

    assert production_problems(config) == []


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"signing_alg": "HS256", "secret_key": "short"}, "HS256"),
        ({"issuer": "http://auth.example.com"}, "https://"),
        ({"cookie_secure": False}, "Secure"),
        ({"database_url": None}, "DATABASE_URL"),
    ],
)
def test_production_refuses_each_unsafe_setting(values: dict, reason: str) -> None:
    base = {
        "env": "production",
        "issuer": "https://auth.example.com",
        "database_url": "postgresql+asyncpg://db/auth",
    }
    base.update(values)
    if base["database_url"] is None:
        del base["database_url"]

    with pytest.raises(ConfigurationError, match=reason):
        check_settings(settings(**base))


def test_hs256_without_a_secret_is_refused_everywhere() -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        check_settings(settings(signing_alg="HS256"))


def test_access_ttl_must_lie_in_range() -> None:
    with pytest.raises(ValueError, match="access_ttl"):
        settings(access_ttl=3600)


def test_lists_are_read_from_comma_separated_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOKENWARD_TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16")
    monkeypatch.setenv("TOKENWARD_ALLOWED_ORIGINS", "https://app.example.com/")

    config = Settings(_env_file=None)  # type: ignore[call-arg]

    assert [str(net) for net in config.trusted_proxies] == [
        "10.0.0.1/32",
        "192.168.0.0/16",
    ]
    assert config.allowed_origins == ["https://app.example.com"]


@pytest.mark.parametrize(
    "url", ["garbage", "postgresql://db/auth", "sqlite:///x.db", "mysql+aiomysql://db/x"]
)
def test_database_url_must_name_an_async_driver_we_ship(url: str) -> None:
    """A wrong URL stops the start with one line, not a traceback at first use."""
    with pytest.raises(ValueError, match="database_url"):
        settings(database_url=url)
