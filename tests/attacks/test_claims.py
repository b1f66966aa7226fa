"""Claim attacks: time claims, issuer and audience, and the subject.

Every token here carries the server's own valid signature, so each is refused for
the one claim it gets wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.attacks.conftest import Target, assert_refused
from tests.attacks.forge import DROP

pytestmark = pytest.mark.asyncio(loop_scope="package")

Claims = Callable[[Target], dict[str, Any]]


def _leeway(t: Target) -> int:
    return t.tokenward.settings.leeway


def _ttl(t: Target) -> int:
    return t.tokenward.settings.access_ttl


TIME_CLAIMS: dict[str, tuple[Claims, str]] = {
    "expired_past_the_leeway": (
        lambda t: {"iat": t.now() - 600, "exp": t.now() - _leeway(t) - 1},
        "token_expired",
    ),
    "expired_long_ago": (lambda t: {"iat": 1_000_000, "exp": 1_000_600}, "token_expired"),
    "exp_missing": (lambda t: {"exp": DROP}, "invalid_token"),
    "exp_null": (lambda t: {"exp": None}, "invalid_token"),
    "exp_string": (lambda t: {"exp": str(t.now() + 60)}, "invalid_token"),
    "exp_float": (lambda t: {"exp": t.now() + 60.5}, "invalid_token"),
    "exp_float_integral": (lambda t: {"exp": float(t.now() + 60)}, "invalid_token"),
    "exp_boolean": (lambda t: {"exp": True}, "invalid_token"),
    "exp_huge": (lambda t: {"exp": 2**64}, "invalid_token"),
    "exp_huge_exponent": (lambda t: {"exp": 1e308}, "invalid_token"),
    "exp_negative": (lambda t: {"exp": -1}, "invalid_token"),
    "exp_list": (lambda t: {"exp": [t.now() + 60]}, "invalid_token"),
    "exp_before_iat": (lambda t: {"exp": t.now() - 1, "iat": t.now()}, "invalid_token"),
    "iat_in_the_future": (
        lambda t: {"iat": t.now() + _leeway(t) + 60, "exp": t.now() + _leeway(t) + 120},
        "invalid_token",
    ),
    "iat_missing": (lambda t: {"iat": DROP}, "invalid_token"),
    "iat_string": (lambda t: {"iat": str(t.now())}, "invalid_token"),
    "iat_float": (lambda t: {"iat": t.now() + 0.5}, "invalid_token"),
    "iat_boolean": (lambda t: {"iat": False}, "invalid_token"),
    "iat_negative": (lambda t: {"iat": -10}, "invalid_token"),
    "nbf_in_the_future": (
        lambda t: {"nbf": t.now() + _leeway(t) + 60},
        "invalid_token",
    ),
    "nbf_string": (lambda t: {"nbf": str(t.now())}, "invalid_token"),
    "nbf_float": (lambda t: {"nbf": t.now() - 0.5}, "invalid_token"),
    "nbf_boolean": (lambda t: {"nbf": True}, "invalid_token"),
    "nbf_huge": (lambda t: {"nbf": 2**70}, "invalid_token"),
    "lifetime_longer_than_configured": (
        lambda t: {"iat": t.now(), "exp": t.now() + _ttl(t) + 1},
        "invalid_token",
    ),
    "lifetime_of_a_year": (
        lambda t: {"iat": t.now(), "exp": t.now() + 365 * 86400},
        "invalid_token",
    ),
    "zero_lifetime": (lambda t: {"iat": t.now(), "exp": t.now()}, "invalid_token"),
}


@pytest.mark.parametrize("name", TIME_CLAIMS)
async def test_time_claim_is_wrong(target: Target, name: str) -> None:
    """Expired, future, overlong or mistyped time claims are refused."""
    claims, code = TIME_CLAIMS[name]

    assert_refused(await target.whoami(target.forge(claims=claims(target))), code)


@pytest.mark.parametrize(
    "claims",
    [
        lambda t: {"iat": t.now() - 600, "exp": t.now() - _leeway(t) + 5},
        lambda t: {"nbf": t.now() + _leeway(t) - 5},
    ],
    ids=["expired_within_the_leeway", "nbf_within_the_leeway"],
)
async def test_time_claim_within_the_leeway_is_accepted(
    target: Target, claims: Claims
) -> None:
    """The documented leeway holds, so the refusals above are about the claim."""
    response = await target.whoami(target.forge(claims=claims(target)))

    assert response.status_code == 200, response.text


def _issuer(t: Target) -> str:
    return t.tokenward.settings.issuer


def _audience(t: Target) -> str:
    return t.tokenward.settings.audience


ISSUERS: dict[str, Claims] = {
    "wrong": lambda t: {"iss": "https://evil.example"},
    "missing": lambda t: {"iss": DROP},
    "empty": lambda t: {"iss": ""},
    "null": lambda t: {"iss": None},
    "prefix": lambda t: {"iss": _issuer(t)[:-1]},
    "suffix_path": lambda t: {"iss": _issuer(t) + "/evil"},
    "suffix_host": lambda t: {"iss": _issuer(t) + ".evil.example"},
    "trailing_slash": lambda t: {"iss": _issuer(t) + "/"},
    "upper_case": lambda t: {"iss": _issuer(t).upper()},
    "as_list": lambda t: {"iss": [_issuer(t)]},
    "with_nul": lambda t: {"iss": _issuer(t) + "\u0000"},
}


@pytest.mark.parametrize("name", ISSUERS)
async def test_issuer_is_wrong(target: Target, name: str) -> None:
    """`iss` must equal ours exactly: no prefix, suffix, case change or list."""
    assert_refused(await target.whoami(target.forge(claims=ISSUERS[name](target))))


AUDIENCES: dict[str, Claims] = {
    "wrong": lambda t: {"aud": "another-service"},
    "missing": lambda t: {"aud": DROP},
    "empty": lambda t: {"aud": ""},
    "null": lambda t: {"aud": None},
    "prefix": lambda t: {"aud": _audience(t)[:-1]},
    "suffix": lambda t: {"aud": _audience(t) + "-admin"},
    "upper_case": lambda t: {"aud": _audience(t).upper()},
    "list_without_ours": lambda t: {"aud": ["another-service", "third"]},
    "empty_list": lambda t: {"aud": []},
    "list_with_ours_as_prefix": lambda t: {"aud": [_audience(t) + "x"]},
    "list_of_lists": lambda t: {"aud": [[_audience(t)]]},
    "list_with_ours_and_a_number": lambda t: {"aud": [_audience(t), 1]},
    "object": lambda t: {"aud": {"aud": _audience(t)}},
}


@pytest.mark.parametrize("name", AUDIENCES)
async def test_audience_is_wrong(target: Target, name: str) -> None:
    """`aud` must be ours, or a list of strings holding ours."""
    assert_refused(await target.whoami(target.forge(claims=AUDIENCES[name](target))))


async def test_audience_list_holding_ours_is_accepted(target: Target) -> None:
    """The contract allows `aud` as a list that holds ours."""
    token = target.forge(claims={"aud": ["another-service", _audience(target)]})

    assert (await target.whoami(token)).status_code == 200


SUBJECTS: dict[str, Any] = {
    "number": 1,
    "null": None,
    "list": ["sub"],
    "object": {"id": "sub"},
    "boolean": True,
    "empty": "",
    "missing": DROP,
    "with_nul": "user\u0000admin",
    "lone_surrogate": "\ud800",
}


@pytest.mark.parametrize("name", SUBJECTS)
async def test_subject_is_malformed(target: Target, name: str) -> None:
    """A `sub` that is not a plain non-empty string is refused before any lookup."""
    token = target.forge(claims={"sub": SUBJECTS[name]})

    assert_refused(await target.whoami(token))
    assert_refused(await target.me(token))


@pytest.mark.parametrize("claim", ["sid", "jti", "scope"])
async def test_other_claim_with_a_lone_surrogate(target: Target, claim: str) -> None:
    """Text that is not valid Unicode never reaches a route (it cannot be encoded)."""
    assert_refused(await target.whoami(target.forge(claims={claim: "\udfff"})))


async def test_unknown_subject_is_refused_where_the_user_is_read(target: Target) -> None:
    """A signed token for a user that does not exist gets no user record."""
    token = target.forge(claims={"sub": "00000000-0000-4000-8000-000000000000"})

    assert_refused(await target.me(token))


@pytest.mark.parametrize(
    "name,value",
    [("sid", 1), ("jti", None), ("scope", ["admin"]), ("sid", DROP), ("jti", DROP)],
    ids=["sid_number", "jti_null", "scope_list", "sid_missing", "jti_missing"],
)
async def test_other_claim_is_malformed(target: Target, name: str, value: Any) -> None:
    """`sid`, `jti` and `scope` are strings; anything else is refused."""
    assert_refused(await target.whoami(target.forge(claims={name: value})))
