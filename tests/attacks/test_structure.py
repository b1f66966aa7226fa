"""Structure attacks: other serializations, wrong part counts, and hostile JSON.

Only the compact JWS form of three base64url parts is read. The JSON inside must be
one object, without repeated member names or non-standard constants, and nesting it
deep enough to exhaust a recursive parser is a 401 like any other bad token.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.attacks.conftest import Target, assert_refused
from tests.attacks.forge import b64url, compact, nested, nested_objects, parts, to_json
from tokenward import jws

pytestmark = pytest.mark.asyncio(loop_scope="package")


def _flattened_json(token: str) -> str:
    header, payload, signature = parts(token)
    return json.dumps({"protected": header, "payload": payload, "signature": signature})


def _general_json(token: str) -> str:
    header, payload, signature = parts(token)
    return json.dumps(
        {
            "payload": payload,
            "signatures": [{"protected": header, "signature": signature}],
        }
    )


def _jwe_like(token: str) -> str:
    header = b64url(to_json({"alg": "dir", "enc": "A256GCM", "typ": "at+jwt"}))
    _, payload, signature = parts(token)
    return f"{header}..{payload}.{signature[:22]}.{signature[:22]}"


SERIALIZATIONS: dict[str, Callable[[str], str]] = {
    "jws_json_flattened": _flattened_json,
    "jws_json_general": _general_json,
    "jws_json_flattened_base64url": lambda t: b64url(_flattened_json(t).encode()),
    "jwe_five_parts": _jwe_like,
    "jwe_five_parts_of_the_real_token": lambda t: f"{t}.{parts(t)[2]}.{parts(t)[2]}",
    "four_parts": lambda t: f"{t}.e30",
    "two_parts": lambda t: t.rsplit(".", 1)[0],
    "one_part": lambda t: parts(t)[1],
    "empty_parts": lambda _: "..",
    "dots_only": lambda _: "....",
    "header_only": lambda t: parts(t)[0] + "..",
}


@pytest.mark.parametrize("name", SERIALIZATIONS)
async def test_other_serialization_where_a_compact_jws_is_expected(
    target: Target, name: str
) -> None:
    """JWS JSON, JWE and wrong part counts built from a genuine token are refused."""
    bearer_value = SERIALIZATIONS[name](target.access_token)
    response = await target.client.get(
        "/auth/whoami", headers={"Authorization": f"Bearer {bearer_value}"}
    )

    assert_refused(response)


async def test_jwe_header_in_three_parts(target: Target) -> None:
    """A JWE-style header (`enc`) on a compact token signed by the server."""
    token = target.forge(header={"alg": "dir", "enc": "A256GCM"})

    assert_refused(await target.whoami(token))


# Hostile JSON in the header (read before any signature check)

HEADERS: dict[str, bytes] = {
    "nested_arrays_past_the_recursion_limit": nested(1100),
    "nested_objects_as_deep_as_fits": nested_objects(500),
    "array": b'["ES256"]',
    "string": b'"ES256"',
    "number": b"1",
    "null": b"null",
    "true": b"true",
    "empty": b"",
    "not_json": b"alg=ES256",
    "nan_constant": b'{"alg":"ES256","typ":"at+jwt","kid":NaN}',
    "infinity_constant": b'{"alg":"ES256","typ":"at+jwt","kid":Infinity}',
    "invalid_utf8": b'{"alg":"ES256","typ":"at+jwt","kid":"\xff\xfe"}',
    "byte_order_mark": b'\xef\xbb\xbf{"alg":"ES256","typ":"at+jwt"}',
    "trailing_garbage": b'{"alg":"ES256","typ":"at+jwt"}x',
    "two_documents": b'{"alg":"ES256","typ":"at+jwt"}{"alg":"none"}',
}


@pytest.mark.parametrize("name", HEADERS)
async def test_hostile_header_json(target: Target, name: str) -> None:
    """A header that is not one plain JSON object answers 401, never a crash."""
    token = compact(HEADERS[name], target.claims, target.signer())

    assert_refused(await target.whoami(token))


@pytest.mark.parametrize(
    "spelling",
    [
        '{"alg":"none","alg":"%s","typ":"at+jwt","kid":"%s"}',
        '{"alg":"%s","typ":"at+jwt","kid":"%s","alg":"none"}',
        '{"alg":"%s","\\u0061lg":"none","typ":"at+jwt","kid":"%s"}',
    ],
    ids=["alg_repeated_first_none", "alg_repeated_last_none", "alg_repeated_as_escape"],
)
async def test_repeated_header_member(target: Target, spelling: str) -> None:
    """Two `alg` members could mean different things to different parsers."""
    header = (spelling % (target.alg, target.key.kid)).encode()

    assert_refused(await target.whoami(compact(header, target.claims, target.signer())))


# Hostile JSON in the claims, signed with the server's key to reach the parser

PAYLOADS: dict[str, bytes] = {
    "nested_arrays_past_the_recursion_limit": nested(1100),
    "nested_objects_as_deep_as_fits": nested_objects(500),
    "nested_claim_value": b'{"sub":' + nested(1000) + b"}",
    "array": b"[]",
    "string": b'"sub"',
    "number": b"42",
    "null": b"null",
    "empty": b"",
    "nan_constant": b'{"exp":NaN}',
    "invalid_utf8": b'{"sub":"\xc3\x28"}',
}


@pytest.mark.parametrize("name", PAYLOADS)
async def test_hostile_claims_json(target: Target, name: str) -> None:
    """Claims that are not one plain JSON object answer 401, even when signed."""
    token = compact(target.header, PAYLOADS[name], target.signer())

    assert_refused(await target.whoami(token))


async def test_repeated_claim_signed_by_the_server(target: Target) -> None:
    """`sub` twice: one parser would take the first, another the last."""
    claims = json.dumps(target.claims, separators=(",", ":"))
    payload = claims[:-1] + ',"sub":"someone-else"}'
    token = compact(target.header, payload.encode(), target.signer())

    assert_refused(await target.whoami(token))


@pytest.mark.parametrize("part", ["header", "claims"])
async def test_deep_nesting_reaches_the_parser_and_answers_401(
    target: Target, part: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nesting really exhausts the recursive JSON parser (a RecursionError is
    raised inside), and the answer is still a clean 401."""
    raised: list[type[BaseException]] = []
    loads = json.loads

    def spy(*args: object, **kwargs: object) -> object:
        try:
            return loads(*args, **kwargs)  # type: ignore[arg-type]
        except RecursionError as exc:
            raised.append(type(exc))
            raise

    monkeypatch.setattr(jws.json, "loads", spy)
    deep = nested(1100)
    header, claims = (deep, target.claims) if part == "header" else (target.header, deep)
    token = compact(header, claims, target.signer())
    assert len(token) <= jws.MAX_TOKEN_LENGTH

    response = await target.whoami(token)

    assert raised == [RecursionError]
    assert_refused(response)
