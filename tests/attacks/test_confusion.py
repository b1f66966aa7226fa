"""Token type confusion: every kind of token offered where another kind is expected.

An access token is a JWT with `typ: at+jwt`; a refresh token is 43 opaque characters
looked up by hash; one-time tokens (reset, verification) are of their own types.
None passes for another.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.attacks.conftest import Target, assert_refused
from tests.attacks.forge import DROP
from tests.conftest import bearer

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


async def test_access_token_is_not_accepted_as_a_password_reset_token(
    target: Target,
) -> None:
    """Where the reset route exists, an access token resets no password."""
    if "/auth/password/reset" not in target.app.openapi()["paths"]:
        pytest.skip("this build has no password reset route")

    response = await target.client.post(
        "/auth/password/reset",
        json={"token": target.access_token, "new_password": "a brand new passphrase"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"
    logout = await target.client.post("/auth/logout", headers=bearer(target.access_token))
    assert logout.status_code == 204
