"""Where the token travels: query strings, oversized headers and cookies, odd schemes.

Only the `Authorization: Bearer` header is read (and, where the cookie transport is
installed, its cookie). Oversized credentials are refused by a size check before any
byte of them is decoded.
"""

from __future__ import annotations

import pytest

from tests.attacks.conftest import Target, assert_refused
from tokenward import jws
from tokenward.http.limits import MAX_COOKIE_HEADER

pytestmark = pytest.mark.asyncio(loop_scope="package")


@pytest.mark.parametrize("name", ["access_token", "token", "jwt", "authorization"])
@pytest.mark.parametrize("path", ["/auth/whoami", "/users/me"])
async def test_token_in_the_query_string_is_ignored(
    target: Target, name: str, path: str
) -> None:
    """A valid token in the URL authenticates nothing (RFC 6750 §2.3 is not offered)."""
    response = await target.client.get(path, params={name: target.access_token})

    assert_refused(response)


async def test_token_in_the_query_string_does_not_log_out(target: Target) -> None:
    """A state-changing route ignores the query string too; the session lives on."""
    response = await target.client.post(
        "/auth/logout", params={"access_token": target.access_token}
    )

    assert_refused(response)
    assert (await target.whoami(target.access_token)).status_code == 200


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every base64url part the token service tries to decode."""
    seen: list[str] = []
    decode = jws.b64decode

    def spy(part: str) -> bytes:
        seen.append(part)
        return decode(part)

    monkeypatch.setattr(jws, "b64decode", spy)
    return seen


@pytest.mark.parametrize("size", [4097, 64 * 1024, 1024 * 1024])
async def test_oversized_authorization_header_is_refused_before_decoding(
    target: Target, decodes: list[str], size: int
) -> None:
    """A huge bearer value answers 401 from a length check; nothing is decoded."""
    header = "Bearer " + "A" * size

    response = await target.client.get("/auth/whoami", headers={"Authorization": header})

    assert_refused(response)
    assert decodes == []


async def test_oversized_token_of_valid_shape_is_refused_before_decoding(
    target: Target, decodes: list[str]
) -> None:
    """Three well-formed parts past the length limit are not decoded either."""
    token = target.forge(claims={"pad": "x" * 4000})
    assert len(token) > jws.MAX_TOKEN_LENGTH

    assert_refused(await target.whoami(token))
    assert decodes == []


async def test_genuine_token_is_decoded(target: Target, decodes: list[str]) -> None:
    """The spy above does see decoding, so its silence means something."""
    assert (await target.whoami(target.access_token)).status_code == 200
    assert len(decodes) == 3


@pytest.mark.parametrize("size", [MAX_COOKIE_HEADER + 1, 256 * 1024])
async def test_oversized_cookie_header_is_refused_before_reading(
    target: Target, decodes: list[str], size: int
) -> None:
    """A cookie header past the limit answers 431 before any cookie is parsed."""
    cookie = "access_token=" + "A" * size

    response = await target.client.get(
        "/auth/whoami", headers={"Cookie": cookie, "Authorization": "Bearer x"}
    )

    assert response.status_code == 431
    assert response.json()["code"] == "request_header_too_large"
    assert decodes == []


SCHEMES = {
    "basic": "Basic {token}",
    "token": "Token {token}",
    "jwt": "JWT {token}",
    "no_scheme": "{token}",
    "scheme_only": "Bearer",
    "scheme_and_space": "Bearer ",
    "two_tokens": "Bearer {token} {token}",
    "comma_list": "Bearer {token}, Bearer {token}",
    "bearer_glued": "Bearer{token}",
}


@pytest.mark.parametrize("name", SCHEMES)
async def test_wrong_authorization_scheme(target: Target, name: str) -> None:
    """Only `Bearer <token>` is read; other schemes and shapes are refused."""
    value = SCHEMES[name].format(token=target.access_token)

    response = await target.client.get("/auth/whoami", headers={"Authorization": value})

    assert_refused(response)


async def test_two_authorization_headers(target: Target) -> None:
    """With two Authorization headers, which one a proxy checked is unknowable."""
    headers = [
        ("Authorization", f"Bearer {target.access_token}"),
        ("Authorization", "Bearer forged"),
    ]

    response = await target.client.get("/auth/whoami", headers=headers)

    assert_refused(response)


async def test_oversized_access_cookie_is_refused_before_decoding(
    target: Target, decodes: list[str]
) -> None:
    """An access cookie longer than any token, within the header limit, answers 401
    from the token length check; nothing is decoded."""
    cookie = "tokenward_access=" + target.access_token + "A" * 4096

    response = await target.client.get("/users/me", headers={"Cookie": cookie})

    assert_refused(response)
    assert decodes == []


async def test_access_cookie_is_read_when_it_fits(target: Target) -> None:
    """The same cookie without the padding is accepted, so the refusal above is about
    its size."""
    cookie = "tokenward_access=" + target.access_token

    response = await target.client.get("/users/me", headers={"Cookie": cookie})

    assert response.status_code == 200, response.text
