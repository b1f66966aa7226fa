"""Token type confusion: every kind of token offered where another kind is expected.

An access token is a JWT with `typ: at+jwt`; a refresh token is 43 opaque characters
looked up by hash; one-time tokens (reset, verification) are of their own types.
None passes for another.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.attacks.conftest import Target, assert_refused
from tests.attacks.forge import DROP
from tests.conftest import PASSWORD
from tokenward.recovery import hash_reset_token, new_reset_token

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def test_refresh_token_as_access_token(target: Target) -> None:
    """The opaque refresh token is not a bearer credential."""
    assert_refused(await target.whoami(target.refresh_token))
    assert_refused(await target.me(target.refresh_token))


async def test_access_token_as_refresh_token(target: Target) -> None:
    """An access token cannot be traded for a new pair, and the session lives on."""
    response = await target.client.post(
        "/auth/refresh", json={"refresh_token": target.access_token}
    )

    assert_refused(response)
    assert (await target.whoami(target.access_token)).status_code == 200


@pytest.mark.parametrize("part", [0, 1, 2], ids=["header", "claims", "signature"])
async def test_part_of_the_access_token_as_refresh_token(
    target: Target, part: int
) -> None:
    """Pieces of an access token are not refresh tokens either."""
    piece = target.access_token.split(".")[part][:43]

    response = await target.client.post("/auth/refresh", json={"refresh_token": piece})

    assert_refused(response)


async def test_session_id_as_refresh_token(target: Target) -> None:
    """The session id (`sid`) in the access token is public; it refreshes nothing."""
    response = await target.client.post(
        "/auth/refresh", json={"refresh_token": target.claims["sid"]}
    )

    assert_refused(response)


TYPES: dict[str, Any] = {
    "refresh_typed_jwt": "rt+jwt",
    "refresh_named_jwt": "refresh+jwt",
    "password_reset_jwt": "reset+jwt",
    "email_verification_jwt": "verify+jwt",
    "plain_jwt": "JWT",
    "id_token": "id_token+jwt",
    "logout_token": "logout+jwt",
    "jose": "JOSE",
    "missing": DROP,
    "empty": "",
    "list": ["at+jwt"],
    "number": 1,
    "prefix": "at+jwt-reset",
}


@pytest.mark.parametrize("name", TYPES)
async def test_other_token_type_as_access_token(target: Target, name: str) -> None:
    """A JWT of another type, signed by the server itself, is not an access token."""
    token = target.forge(header={"typ": TYPES[name]})

    assert_refused(await target.whoami(token))


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
async def test_access_token_type_spellings_are_accepted(target: Target, typ: str) -> None:
    """RFC 9068's type, in the forms RFC 7515 allows (media types ignore case)."""
    assert (await target.whoami(target.forge(header={"typ": typ}))).status_code == 200


async def test_reset_shaped_claims_in_an_access_token(target: Target) -> None:
    """Claims a one-time token would carry (a purpose, no session) do not make an
    access token: without `sid` it is refused."""
    token = target.forge(
        header={"typ": "reset+jwt"}, claims={"sid": DROP, "purpose": "password_reset"}
    )

    assert_refused(await target.whoami(token))
    assert_refused(
        await target.whoami(target.forge(claims={"sid": DROP, "purpose": "reset"}))
    )


async def _reset_token(target: Target) -> str:
    """A real, unspent password reset token of the target's user."""
    tokenward = target.tokenward
    now = tokenward.clock.now()
    token = new_reset_token()
    await tokenward.store.add_password_reset(
        hash_reset_token(token), target.claims["sub"], now, now + timedelta(minutes=30)
    )
    return token


async def test_reset_token_as_access_or_refresh_token(target: Target) -> None:
    """A genuine reset token opens no route and refreshes nothing, and is still good
    for its one purpose afterwards."""
    token = await _reset_token(target)

    assert_refused(await target.whoami(token))
    assert_refused(await target.me(token))
    assert_refused(
        await target.client.post("/auth/refresh", json={"refresh_token": token})
    )

    reset = await target.client.post(
        "/auth/password/reset",
        json={"token": token, "new_password": "a brand new passphrase here"},
    )
    assert reset.status_code == 204, reset.text
    restore = await target.client.post(
        "/auth/password/reset",
        json={"token": await _reset_token(target), "new_password": PASSWORD},
    )
    assert restore.status_code == 204  # the shared account keeps its password


@pytest.mark.parametrize(
    "kind", ["access_token", "access_token_signature", "refresh_token", "session_id"]
)
async def test_other_tokens_as_password_reset_token(target: Target, kind: str) -> None:
    """Access and refresh tokens, or pieces of them, reset no password: the session
    lives on and the password is unchanged."""
    token = {
        "access_token": target.access_token,
        "access_token_signature": target.access_token.split(".")[2],
        "refresh_token": target.refresh_token,
        "session_id": target.claims["sid"],
    }[kind]

    response = await target.client.post(
        "/auth/password/reset",
        json={"token": token, "new_password": "a brand new passphrase here"},
    )

    assert response.status_code in (400, 422), response.text
    assert response.json()["code"] in ("invalid_token", "invalid_request")
    assert (await target.whoami(target.access_token)).status_code == 200
    login = await target.client.post(
        "/auth/login", json={"email": target.email, "password": PASSWORD}
    )
    assert login.status_code == 200
