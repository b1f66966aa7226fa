"""Refresh-token rotation in the SQL store, written straight to each driver."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tokenward.errors import StorageUnavailable, TokenRevoked
from tokenward.store.records import Session, User
from tokenward.store.sql import SqlStore

NOW = datetime(2030, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _hash(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def _accept(_session: Session) -> None:
    return None


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    """A store on SQLite, and on PostgreSQL when it is reachable."""
    store = SqlStore(database_url)
    user = User(str(uuid.uuid4()), "r@example.com", "r@example.com", "h", NOW, NOW)
    await store.add_user(user)
    session = Session(
        str(uuid.uuid4()), user.id, NOW, NOW, NOW + timedelta(days=30),
        ip="10.0.0.1", user_agent="first",
    )  # fmt: skip
    await store.add_session(session, _hash("t0"))
    store.session_id = session.id  # type: ignore[attr-defined]
    yield store
    await store.close()


async def test_rotation_spends_stores_and_touches(store: SqlStore) -> None:
    """One rotation spends the token, stores the next and touches the session."""
    later = NOW + timedelta(seconds=90)

    lookup = await store.rotate_refresh_token(
        _hash("t0"), _hash("t1"), later, _accept, ip="10.0.0.2", user_agent=None
    )

    assert lookup.rotated and lookup.session is not None
    assert lookup.session.last_used_at == later
    assert (lookup.session.ip, lookup.session.user_agent) == ("10.0.0.2", "first")
    stored = await store.get_session(store.session_id)  # type: ignore[attr-defined]
    assert stored == lookup.session
    following = await store.rotate_refresh_token(_hash("t1"), _hash("t2"), later, _accept)
    assert following.rotated


async def test_spent_and_unknown_tokens_are_told_apart(store: SqlStore) -> None:
    """A spent token reports when it was spent; an unknown one reports no session."""
    spent_at = NOW + timedelta(seconds=5)
    await store.rotate_refresh_token(_hash("t0"), _hash("t1"), spent_at, _accept)

    again = await store.rotate_refresh_token(
        _hash("t0"), _hash("t9"), spent_at + timedelta(seconds=1), _accept
    )
    unknown = await store.rotate_refresh_token(
        _hash("nope"), _hash("t9"), spent_at, _accept
    )

    assert not again.rotated and again.spent_at == spent_at
    assert again.session is not None and again.session.id == store.session_id  # type: ignore[attr-defined]
    assert unknown.session is None and not unknown.rotated


async def test_a_failed_check_writes_nothing(store: SqlStore) -> None:
    """When the session check raises, the token stays unspent and no new one exists."""

    def refuse(_session: Session) -> None:
        raise TokenRevoked()

    with pytest.raises(TokenRevoked):
        await store.rotate_refresh_token(_hash("t0"), _hash("t1"), NOW, refuse)

    assert (
        await store.rotate_refresh_token(_hash("t1"), _hash("x"), NOW, _accept)
    ).session is None
    assert (
        await store.rotate_refresh_token(_hash("t0"), _hash("t2"), NOW, _accept)
    ).rotated


async def test_concurrent_rotations_of_one_token_have_one_winner(store: SqlStore) -> None:
    """Of five rotations of the same token at once, exactly one rotates it."""
    results = await asyncio.gather(
        *(
            store.rotate_refresh_token(_hash("t0"), _hash(f"n{i}"), NOW, _accept)
            for i in range(5)
        )
    )

    assert sum(r.rotated for r in results) == 1
    assert all(r.session is not None for r in results)


async def test_driver_failures_are_storage_unavailable(store: SqlStore) -> None:
    """A broken table is reported as the storage being unavailable, not a bad token."""
    async with store.engine.begin() as conn:
        await conn.execute(text("DROP TABLE refresh_tokens"))

    with pytest.raises(StorageUnavailable):
        await store.rotate_refresh_token(_hash("t0"), _hash("t1"), NOW, _accept)
