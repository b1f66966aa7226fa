"""Signature attacks: stripped, truncated, flipped and re-encoded signatures.

Base64url is read strictly: padding, the `+` and `/` alphabet, whitespace and set
unused bits are all other spellings of the same bytes, and all are refused, so one
token has exactly one accepted spelling. Revocation is keyed on the session, not on
the token's text, so no spelling of a revoked token gets back in.
"""

from __future__ import annotations

import string
from collections.abc import Callable

import pytest

from tests.attacks.conftest import Target, assert_refused
from tests.attacks.forge import b64url, flip_bit, malleate_es256, parts, unb64url
from tests.conftest import bearer

pytestmark = pytest.mark.asyncio(loop_scope="package")

B64URL_ALPHABET = string.ascii_letters + string.digits + "-_"


def _with_signature(token: str, signature: bytes | str) -> str:
    header, payload, _ = parts(token)
    text = signature if isinstance(signature, str) else b64url(signature)
    return f"{header}.{payload}.{text}"


def _unused_bits_set(part: str) -> str:
    """The same bytes with the unused low bits of the last character set."""
    raw = unb64url(part)
    for char in B64URL_ALPHABET:
        candidate = part[:-1] + char
        if candidate != part and unb64url(candidate) == raw:
            return candidate
    raise AssertionError("this part has no unused bits")


def _signature(token: str) -> bytes:
    return unb64url(parts(token)[2])


TAMPERINGS: dict[str, Callable[[str, str], str]] = {
    "stripped_signature_part": lambda t, _: t.rsplit(".", 1)[0],
    "empty_signature": lambda t, _: t.rsplit(".", 1)[0] + ".",
    "truncated_by_one_character": lambda t, _: t[:-1],
    "truncated_to_half": lambda t, _: _with_signature(t, _signature(t)[:16]),
    "last_bit_flipped": lambda t, _: _with_signature(t, flip_bit(_signature(t), -1)),
    "first_bit_flipped": lambda t, _: _with_signature(t, flip_bit(_signature(t), 0)),
    "zeroed": lambda t, _: _with_signature(t, bytes(len(_signature(t)))),
    "byte_appended": lambda t, _: _with_signature(t, _signature(t) + b"\x00"),
    "doubled": lambda t, _: _with_signature(t, _signature(t) * 2),
    "second_signature_part": lambda t, _: f"{t}.{parts(t)[2]}",
    "signature_of_another_token": lambda t, other: _with_signature(t, parts(other)[2]),
    "unused_bits_set": lambda t, _: _with_signature(t, _unused_bits_set(parts(t)[2])),
}


@pytest.mark.parametrize("name", TAMPERINGS)
async def test_tampered_signature_is_refused(target: Target, name: str) -> None:
    """Every damaged or borrowed signature of an otherwise genuine token is refused."""
    token = target.forge(claims={"jti": "tampered"})
    other = target.forge(claims={"jti": "other"})

    assert_refused(await target.whoami(TAMPERINGS[name](token, other)))


async def test_untampered_forge_passes(target: Target) -> None:
    """The token the tamperings start from is itself accepted."""
    assert (
        await target.whoami(target.forge(claims={"jti": "tampered"}))
    ).status_code == 200


async def _token_with_url_safe_characters(target: Target) -> str:
    """A real access token of the target's session that contains `-` or `_`."""
    claims = target.claims
    for _ in range(200):
        issued = target.tokenward.tokens.issue(claims["sub"], claims["sid"], "")
        if "-" in issued.token or "_" in issued.token:
            return issued.token
    raise AssertionError("no token with '-' or '_' was issued")


REENCODINGS: dict[str, tuple[Callable[[str], str], str]] = {
    "as_issued": (lambda t: t, "token_revoked"),
    "surrounding_spaces": (lambda t: f"  {t}  ", "token_revoked"),
    "padding_added": (
        lambda t: ".".join(p + "=" * (-len(p) % 4 or 4) for p in t.split(".")),
        "invalid_token",
    ),
    "standard_alphabet": (
        lambda t: t.replace("-", "+").replace("_", "/"),
        "invalid_token",
    ),
    "space_inside": (lambda t: f"{t[:40]} {t[40:]}", "invalid_token"),
    "tab_inside": (lambda t: f"{t[:40]}\t{t[40:]}", "invalid_token"),
    "trailing_dot": (lambda t: t + ".", "invalid_token"),
    "percent_encoded_dots": (lambda t: t.replace(".", "%2E"), "invalid_token"),
    "unused_bits_set": (
        lambda t: _with_signature(t, _unused_bits_set(parts(t)[2])),
        "invalid_token",
    ),
    "header_reserialized": (
        lambda t: ".".join(
            [b64url(unb64url(parts(t)[0]).replace(b",", b", ")), *parts(t)[1:]]
        ),
        "invalid_token",
    ),
}


@pytest.mark.parametrize("name", REENCODINGS)
async def test_revoked_token_stays_revoked_whatever_its_encoding(
    target: Target, name: str
) -> None:
    """After logout no spelling of the token is accepted: the same token is
    `token_revoked`, any other spelling is not a token at all."""
    token = await _token_with_url_safe_characters(target)
    logout = await target.client.post("/auth/logout", headers=bearer(token))
    assert logout.status_code == 204
    reencode, code = REENCODINGS[name]

    response = await target.client.get(
        "/auth/whoami", headers={"Authorization": f"Bearer {reencode(token)}"}
    )

    assert_refused(response, code)


async def test_revoked_token_with_the_scheme_in_lower_case(target: Target) -> None:
    """`bearer` is the same scheme (RFC 7235); the token is still revoked."""
    await target.client.post("/auth/logout", headers=bearer(target.access_token))

    response = await target.client.get(
        "/auth/whoami", headers={"Authorization": f"bearer {target.access_token}"}
    )

    assert_refused(response, "token_revoked")


@pytest.mark.parametrize("server", ["ES256"], indirect=True)
async def test_malleated_ecdsa_signature_of_a_revoked_token(target: Target) -> None:
    """ECDSA's second valid signature (r, n - s) spells the same claims differently;
    revocation is keyed on the session, so it stays revoked."""
    header, payload, signature = parts(target.access_token)
    twin = f"{header}.{payload}.{b64url(malleate_es256(unb64url(signature)))}"
    assert (await target.whoami(twin)).status_code == 200  # a valid signature

    await target.client.post("/auth/logout", headers=bearer(target.access_token))

    assert_refused(await target.whoami(twin), "token_revoked")
