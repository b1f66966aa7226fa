"""Settings from the environment (`TOKENWARD_` prefix, `.env`), and production checks."""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated, Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./tokenward.db"
ASYNC_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
SigningAlg = Literal["EdDSA", "ES256", "RS256", "HS256"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Every knob of the server. Secret values are masked in `repr`."""

    model_config = SettingsConfigDict(
        env_prefix="TOKENWARD_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = DEFAULT_DATABASE_URL
    redis_url: SecretStr | None = None
    env: Literal["development", "production"] = "development"
    issuer: str = "http://localhost:8000"
    audience: str = "tokenward"

    access_ttl: int = Field(900, ge=60, le=1800)
    refresh_idle_ttl: int = Field(604_800, ge=60)
    session_max_ttl: int = Field(2_592_000, ge=60)
    refresh_reuse_grace: int = Field(5, ge=0, le=60)
    leeway: int = Field(30, ge=0, le=60)
    token_cache_size: int = Field(10_000, ge=0)
    user_cache_ttl: float = Field(1.0, ge=0, le=10)

    signing_alg: SigningAlg = "ES256"
    secret_key: SecretStr | None = None
    key_encryption_secret: SecretStr | None = None

    login_rate: str = "10/minute;100/hour"
    login_pair_rate: str = "5/minute;20/hour"
    login_ip_rate: str = "60/minute;1000/hour"
    ip_rate: str = "120/minute;2000/hour"
    max_body_size: int = Field(65_536, ge=1_024, le=1_048_576)
    trusted_proxies: Annotated[list[IPNetwork], NoDecode] = []
    allowed_origins: Annotated[list[str], NoDecode] = []
    cookie_secure: bool | None = None

    password_min_length: int = Field(15, ge=8, le=64)
    password_max_length: int = Field(1024, ge=64, le=4096)
    argon2_time_cost: int = Field(2, ge=1)
    argon2_memory_cost: int = Field(19_456, ge=8_192)
    argon2_parallelism: int = Field(1, ge=1)
    hash_threads: int = Field(default_factory=lambda: min(4, os.cpu_count() or 1), ge=1)
    hash_queue_limit: int = Field(64, ge=1)

    smtp_url: SecretStr | None = None
    mail_from: str = "tokenward@localhost"
    reset_ttl: int = Field(1800, ge=300, le=86_400)

    key_refresh_interval: float = Field(5.0, gt=0, le=10)
    revocation_poll_interval: float = Field(0.5, gt=0, le=1)
    log_level: str = "INFO"

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_proxies(cls, value: object) -> object:
        value = _split_csv(value)
        if isinstance(value, list):
            return [ipaddress.ip_network(str(item), strict=False) for item in value]
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        value = _split_csv(value)
        if isinstance(value, list):
            return [str(item).rstrip("/") for item in value]
        return value

    @field_validator("login_rate", "login_pair_rate", "login_ip_rate", "ip_rate")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        try:
            windows = parse_many(value)
        except ValueError:
            windows = []
        if not windows:
            raise ValueError("not a rate in the limits notation (5/minute;50/hour)")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("not a database URL") from None
        if url.drivername not in ASYNC_DRIVERS:
            names = " or ".join(f"{name}://" for name in ASYNC_DRIVERS)
            raise ValueError(f"use {names}")
        return value

    @field_validator("issuer")
    @classmethod
    def _strip_issuer(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def production_problems(settings: Settings) -> list[str]:
    """Why these settings are unsafe for production; empty when they are fine."""
    problems: list[str] = []
    if settings.signing_alg == "HS256":
        secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
        if len(secret.encode()) < 32:
            problems.append(
                "HS256 needs TOKENWARD_SECRET_KEY of at least 32 random bytes"
            )
    if not settings.issuer.startswith("https://"):
        problems.append("TOKENWARD_ISSUER must be an https:// URL in production")
    if settings.cookie_secure is False:
        problems.append("TOKENWARD_COOKIE_SECURE=false would send cookies without Secure")
    if "database_url" not in settings.model_fields_set:
        problems.append(
            "TOKENWARD_DATABASE_URL is not set; the default SQLite file in the working "
            "directory is not a production database"
        )
    return problems


def check_settings(settings: Settings) -> None:
    """Refuse settings that cannot work at all, and unsafe ones in production."""
    problems: list[str] = []
    if settings.signing_alg == "HS256" and settings.secret_key is None:
        problems.append("TOKENWARD_SIGNING_ALG=HS256 needs TOKENWARD_SECRET_KEY")
    if settings.is_production:
        problems.extend(production_problems(settings))
    if problems:
        raise ConfigurationError("; ".join(dict.fromkeys(problems)))


class ConfigurationError(Exception):
    """Settings that the server refuses to start with; the message is one line."""
