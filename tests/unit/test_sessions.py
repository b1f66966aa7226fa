"""Sessions and refresh tokens: rotation, reuse detection, expiry."""

from __future__ import annotations

import pytest

from tokenward import Tokenward
from tokenward.clock import FrozenClock
from tokenward.errors import (
    InvalidToken,
    RefreshReused,
    RefreshRotated,
    TokenExpired,
    TokenRevoked,
)
from tokenward.sessions import ClientInfo, hash_refresh_token

CLIENT = ClientInfo(ip="192.0.2.10", user_agent="tests")


async def open_session(tw: Tokenward) -> tuple[str, str]:
    session, refresh_token = await tw.sessions.open("user-1", CLIENT, "laptop")
    return session.id, refresh_token


async def test_only_the_hash_of_a_refresh_token_is_stored(
    memory_tokenward: Tokenward,
) -> None:
    _, refresh_token = await open_session(memory_tokenward)

    stored = memory_tokenward.store.refresh_tokens  # type: ignore[attr-defined]

    assert hash_refresh_token(refresh_token) in stored
    assert all(refresh_token.encode() not in key for key in stored)
    assert len(refresh_token) == 43  # 256 bits in base64url


async def test_rotation_spends_the_old_token_and_issues_a_new_one(
    memory_tokenward: Tokenward, clock: FrozenClock
) -> None:
    session_id, first = await open_session(memory_tokenward)
    clock.advance(60)

    session, second = await memory_tokenward.sessions.rotate(first, CLIENT)

    assert session.id == session_id
    assert second != first
    assert session.last_used_at == clock.now()
    session, third = await memory_tokenward.sessions.rotate(second, CLIENT)
    assert third not in (first, second)


async def test_spent_token_within_grace_keeps_the_session(
    memory_tokenward: Tokenward, clock: FrozenClock
) -> None:
    """A racing second request gets `refresh_rotated`, and nothing is revoked."""
    _, first = await open_session(memory_tokenward)
    _, second = await memory_tokenward.sessions.rotate(first, CLIENT)
    clock.advance(memory_tokenward.settings.refresh_reuse_grace)

    with pytest.raises(RefreshRotated):
        await memory_tokenward.sessions.rotate(first, CLIENT)

    await memory_tokenward.sessions.rotate(second, CLIENT)


async def test_spent_token_after_grace_revokes_the_whole_session(
    memory_tokenward: Tokenward, clock: FrozenClock
) -> None:
    session_id, first = await open_session(memory_tokenward)
    _, second = await memory_tokenward.sessions.rotate(first, CLIENT)
    access = memory_tokenward.tokens.issue("user-1", session_id, "").token
    clock.advance(memory_tokenward.settings.refresh_reuse_grace + 1)

    with pytest.raises(RefreshReused):
        await memory_tokenward.sessions.rotate(first, CLIENT)

    with pytest.raises(TokenRevoked):
        await memory_tokenward.sessions.rotate(second, CLIENT)
    with pytest.raises(TokenRevoked):
        memory_tokenward.tokens.verify(access)


async def test_idle_session_expires(
    memory_tokenward: Tokenward, clock: FrozenClock
) -> None:
    _, token = await open_session(memory_tokenward)

    clock.advance(memory_tokenward.settings.refresh_idle_ttl + 1)

    with pytest.raises(TokenExpired):
        await memory_tokenward.sessions.rotate(token, CLIENT)


async def test_session_in_use_still_ends_at_its_absolute_expiry(
    memory_tokenward: Tokenward, clock: FrozenClock
) -> None:
    _, token = await open_session(memory_tokenward)
    step = memory_tokenward.settings.refresh_idle_ttl - 60
    max_ttl = memory_tokenward.settings.session_max_ttl

    for _ in range(max_ttl // step):
        clock.advance(step)
        _, token = await memory_tokenward.sessions.rotate(token, CLIENT)
    clock.advance(step)

    with pytest.raises(TokenExpired):
        await memory_tokenward.sessions.rotate(token, CLIENT)


async def test_failed_rotation_spends_nothing(
    memory_tokenward: Tokenward, clock: FrozenClock
) -> None:
    """An expired session's token stays unspent: the refusal writes nothing."""
    _, token = await open_session(memory_tokenward)
    clock.advance(memory_tokenward.settings.refresh_idle_ttl + 1)

    with pytest.raises(TokenExpired):
        await memory_tokenward.sessions.rotate(token, CLIENT)

    stored = memory_tokenward.store.refresh_tokens  # type: ignore[attr-defined]
    assert stored[hash_refresh_token(token)].spent_at is None


@pytest.mark.parametrize("token", ["", "short", "x" * 43 + "!", "a.b.c", "é" * 43])
async def test_malformed_refresh_tokens_are_refused(
    memory_tokenward: Tokenward, token: str
) -> None:
    with pytest.raises(InvalidToken):
        await memory_tokenward.sessions.rotate(token, CLIENT)


async def test_unknown_refresh_token_is_refused(memory_tokenward: Tokenward) -> None:
    with pytest.raises(InvalidToken, match="unknown"):
        await memory_tokenward.sessions.rotate("A" * 43, CLIENT)


async def test_revoke_all_but_current(memory_tokenward: Tokenward) -> None:
    keep, _ = await open_session(memory_tokenward)
    other, _ = await open_session(memory_tokenward)

    revoked = await memory_tokenward.sessions.revoke_all("user-1", "test", keep)

    assert revoked == [other]
    assert [s.id for s in await memory_tokenward.sessions.active("user-1")] == [keep]
