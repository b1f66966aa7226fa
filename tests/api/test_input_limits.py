"""Input limits through the HTTP API: body size, JSON shape, text, emails, passwords."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, bearer, random_email, register_and_login
from tokenward.http.limits import DEFAULT_MAX_BODY_SIZE, MAX_JSON_DEPTH

JSON = {"Content-Type": "application/json"}


def assert_code(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def register(
    client: httpx.AsyncClient, email: str, password: str
) -> httpx.Response:
    return await client.post(
        "/auth/register", json={"email": email, "password": password}
    )


# Body size


async def test_body_over_64_kib_is_refused_with_413(client: httpx.AsyncClient) -> None:
    """The announced length alone decides: 413 before the body is read."""
    body = (
        b'{"email": "a@example.com", "password": "' + b"x" * DEFAULT_MAX_BODY_SIZE + b'"}'
    )

    response = await client.post("/auth/register", content=body, headers=JSON)

    assert_code(response, 413, "request_too_large")


async def test_streamed_body_over_the_limit_is_refused_with_413(
    client: httpx.AsyncClient,
) -> None:
    """Without a Content-Length, counting stops the read at the limit."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 8192

    response = await client.post("/auth/login", content=chunks(), headers=JSON)

    assert "content-length" not in response.request.headers
    assert_code(response, 413, "request_too_large")


async def test_body_limit_is_a_setting(app_factory: Callable[..., Any]) -> None:
    """`TOKENWARD_MAX_BODY_SIZE` moves the limit."""
    app = await app_factory(max_body_size=2048)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        body = {"email": random_email(), "password": "p" * 2100}
        response = await client.post("/auth/register", json=body)

    assert_code(response, 413, "request_too_large")


async def test_invalid_content_length_is_400(client: httpx.AsyncClient) -> None:
    """A Content-Length that is not a number is refused before anything reads."""
    response = await client.post(
        "/auth/login", content=b"{}", headers={**JSON, "Content-Length": "-1"}
    )

    assert_code(response, 400, "invalid_request")


# JSON shape and text


@pytest.mark.parametrize("content_type", ["application/json", None])
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 30_000])
async def test_deeply_nested_json_is_422(
    client: httpx.AsyncClient, depth: int, content_type: str | None
) -> None:
    """Nesting past the limit answers 422 without reaching a recursive parser, with
    or without a declared JSON content type."""
    body = b'{"email": ' + b"[" * depth + b"]" * depth + b"}"
    headers = {"Content-Type": content_type} if content_type else {}

    response = await client.post("/auth/login", content=body, headers=headers)

    assert_code(response, 422, "invalid_request")


async def test_brackets_inside_strings_are_not_nesting(client: httpx.AsyncClient) -> None:
    """The depth count skips string contents, escaped quotes included."""
    password = '[[[[{{{{\\"' * 40 + " and more words"
    response = await register(client, random_email(), password)

    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "body",
    [b'{"email": "\xff\xfe@example.com", "password": "x"}', b"\xc3\x28"],
    ids=["invalid_bytes_in_a_string", "truncated_sequence"],
)
async def test_body_that_is_not_utf8_is_422(
    client: httpx.AsyncClient, body: bytes
) -> None:
    """Invalid UTF-8 in a JSON body is refused, not guessed at."""
    response = await client.post("/auth/login", content=body, headers=JSON)

    assert_code(response, 422, "invalid_request")


async def test_number_too_long_to_convert_is_422(client: httpx.AsyncClient) -> None:
    """A 5,000-digit number is invalid input like any other, not a parse crash (400)."""
    body = b'{"email": "a@example.com", "password": ' + b"9" * 5000 + b"}"

    response = await client.post("/auth/login", content=body, headers=JSON)

    assert_code(response, 422, "invalid_request")


@pytest.mark.parametrize("field", ["email", "password"])
@pytest.mark.parametrize("text", ["nul\u0000byte", "lone\ud800surrogate"])
async def test_nul_and_lone_surrogates_are_422(
    client: httpx.AsyncClient, field: str, text: str
) -> None:
    """Text that cannot be stored or compared safely is refused at the door."""
    body = {"email": random_email(), "password": PASSWORD + " extra", field: text}

    response = await client.post(
        "/auth/register", content=_ascii_json(body), headers=JSON
    )

    assert_code(response, 422, "invalid_request")


def _ascii_json(value: Any) -> bytes:
    """JSON with every non-ASCII character escaped, lone surrogates included."""
    import json

    return json.dumps(value, ensure_ascii=True).encode()


async def test_email_longer_than_254_is_422(client: httpx.AsyncClient) -> None:
    """An address longer than SMTP allows is refused."""
    email = "a" * 64 + "@" + ("b" * 60 + ".") * 3 + "example.com"
    assert len(email) > 254

    assert_code(await register(client, email, PASSWORD), 422, "invalid_request")


async def test_password_longer_than_the_schema_allows_is_422(
    client: httpx.AsyncClient,
) -> None:
    """Past 4096 characters the request is malformed; the policy limit is lower."""
    response = await register(client, random_email(), "a b c d " * 600)

    assert_code(response, 422, "invalid_request")


# Emails: one mailbox, one account


@pytest.mark.parametrize(
    "variant",
    [
        "dave@example.com".upper(),
        "\U0001d41dave@example.com",  # mathematical bold d
        "d\u24d0ve@example.com",  # circled a
        "dave@EXAMPLE.com",
        "dave@example.com\t",
    ],
    ids=["upper_case", "mathematical_bold", "circled_letter", "domain_case", "tab"],
)
async def test_look_alike_email_cannot_register_twice(
    client: httpx.AsyncClient, variant: str
) -> None:
    """Compatibility forms and case fold to the same mailbox: 409, not a new account."""
    assert (await register(client, "dave@example.com", PASSWORD)).status_code == 201

    assert_code(await register(client, variant, PASSWORD), 409, "email_taken")


async def test_composed_and_decomposed_accents_are_one_mailbox(
    client: httpx.AsyncClient,
) -> None:
    """`é` as one code point or as `e` plus a combining accent is the same address."""
    assert (await register(client, "ren\u00e9@example.com", PASSWORD)).status_code == 201

    response = await register(client, "rene\u0301@example.com", PASSWORD)

    assert_code(response, 409, "email_taken")


@pytest.mark.parametrize(
    "variant",
    ["d\u0430ve@example.com", "dave@ex\u0430mple.com", "\u0501ave@example.com"],
    ids=["cyrillic_a_in_local_part", "cyrillic_a_in_domain", "cyrillic_komi_de"],
)
async def test_mixed_script_look_alike_is_refused(
    client: httpx.AsyncClient, variant: str
) -> None:
    """Cyrillic letters among Latin ones are refused rather than taken as new."""
    response = await register(client, variant, PASSWORD)

    assert_code(response, 422, "invalid_request")


async def test_single_script_addresses_register(client: httpx.AsyncClient) -> None:
    """Addresses in one non-Latin script are welcome (with a Latin domain too)."""
    for email in ["\u0434\u0430\u0448\u0430@example.com", "ελένη@example.com"]:
        assert (await register(client, email, PASSWORD)).status_code == 201


# Password policy through the API


@pytest.mark.parametrize(
    "password,reason",
    [
        ("short one", "at least 15"),
        ("password123456789", "common password"),
        ("1234567890123456", "pattern"),
        ("tokenward123456789", "service name"),
    ],
)
async def test_weak_password_is_422_with_a_reason(
    client: httpx.AsyncClient, password: str, reason: str
) -> None:
    """`weak_password` says what to change, and never repeats the password."""
    response = await register(client, random_email(), password)

    assert_code(response, 422, "weak_password")
    assert reason in response.json()["detail"]
    assert password not in response.text


async def test_email_local_part_is_a_weak_password(client: httpx.AsyncClient) -> None:
    """The account's own address, padded, is refused as a password."""
    response = await register(client, "frank.ocean@example.com", "frankocean2024!!")

    assert_code(response, 422, "weak_password")
    assert "email address" in response.json()["detail"]


async def test_password_change_applies_the_policy(client: httpx.AsyncClient) -> None:
    """The new password of a change meets the same rules, the email among them."""
    email = "grace.hopper@example.com"
    pair = await register_and_login(client, email)

    response = await client.post(
        "/auth/password/change",
        json={"current_password": PASSWORD, "new_password": "gracehopper123456"},
        headers=bearer(pair["access_token"]),
    )

    assert_code(response, 422, "weak_password")


async def test_minimum_length_can_be_lowered_to_8(
    app_factory: Callable[..., Any],
) -> None:
    """With `TOKENWARD_PASSWORD_MIN_LENGTH=8` a random 8-character password passes."""
    app = await app_factory(password_min_length=8)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        accepted = await register(client, random_email(), "x7#kQ9!m")
        refused = await register(client, random_email(), "x7#kQ9!")

    assert accepted.status_code == 201
    assert_code(refused, 422, "weak_password")


@pytest.mark.parametrize("length", [64, 1024])
async def test_long_passwords_register_and_log_in(
    client: httpx.AsyncClient, length: int
) -> None:
    """64 characters and more are accepted and work at login."""
    password = ("blue ocean quiet stone " * 50)[: length - 1] + "!"
    email = random_email()

    await register_and_login(client, email, password)


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple, " * 4,
        "".join(chr(0x1F600 + 3 * i) for i in range(40)),
    ],
    ids=["ascii_120_bytes", "emoji_160_bytes"],
)
async def test_no_silent_truncation_at_72_bytes(
    client: httpx.AsyncClient, password: str
) -> None:
    """A password longer than bcrypt's 72 bytes is hashed whole: its first 72 bytes
    do not log in."""
    email = random_email()
    await register_and_login(client, email, password)
    prefix = password.encode()[:72].decode(errors="ignore")

    response = await client.post("/auth/login", json={"email": email, "password": prefix})

    assert_code(response, 401, "invalid_credentials")
