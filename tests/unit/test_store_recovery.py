"""Reset tokens and server secrets in the SQL store, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from tokenward.store.records import User
from tokenward.store.sql import SqlStore

NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    store = SqlStore(database_url)
    await store.connect()
    yield store
    await store.close()


async def add_user(store: SqlStore) -> str:
    user_id = secrets.token_hex(8)
    await store.add_user(
        User(
            id=user_id,
            email=f"{user_id}@example.com",
            email_key=f"{user_id}@example.com",
            password_hash="x",
            created_at=NOW,
            password_changed_at=NOW,
        )
    )
    return user_id


async def test_concurrent_spends_of_one_token_succeed_once(store: SqlStore) -> None:
    """Of many simultaneous spends of one reset token, exactly one gets it."""
    user_id = await add_user(store)
    token_hash = secrets.token_bytes(32)
    await store.add_password_reset(token_hash, user_id, NOW, NOW + timedelta(hours=1))

    results = await asyncio.gather(
        *(store.spend_password_reset(token_hash, NOW) for _ in range(8))
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].user_id == user_id and winners[0].created_at == NOW


async def test_spending_one_token_spends_the_users_others(store: SqlStore) -> None:
    """One reset voids every other outstanding token of the same user only."""
    user_id, other_user = await add_user(store), await add_user(store)
    first, second, foreign = (secrets.token_bytes(32) for _ in range(3))
    later = NOW + timedelta(hours=1)
    await store.add_password_reset(first, user_id, NOW, later)
    await store.add_password_reset(second, user_id, NOW, later)
    await store.add_password_reset(foreign, other_user, NOW, later)

    assert await store.spend_password_reset(first, NOW) is not None

    assert await store.spend_password_reset(second, NOW) is None
    assert await store.spend_password_reset(foreign, NOW) is not None


async def test_expired_and_unknown_tokens_are_not_spent(store: SqlStore) -> None:
    """Past its expiry, or never issued, a token gives nothing."""
    user_id = await add_user(store)
    token_hash = secrets.token_bytes(32)
    await store.add_password_reset(token_hash, user_id, NOW, NOW + timedelta(minutes=5))

    late = NOW + timedelta(minutes=5)
    assert await store.spend_password_reset(token_hash, late) is None
    assert await store.spend_password_reset(secrets.token_bytes(32), NOW) is None


async def test_purge_removes_spent_and_expired_tokens(store: SqlStore) -> None:
    """`purge` counts and deletes reset tokens that can never be used again."""
    user_id = await add_user(store)
    spent, expired, live = (secrets.token_bytes(32) for _ in range(3))
    await store.add_password_reset(spent, user_id, NOW, NOW + timedelta(hours=1))
    await store.spend_password_reset(spent, NOW)
    await store.add_password_reset(expired, user_id, NOW, NOW + timedelta(seconds=1))
    await store.add_password_reset(live, user_id, NOW, NOW + timedelta(hours=1))

    counts = await store.purge(NOW + timedelta(minutes=1), refresh_idle_ttl=60)

    assert counts.extra["password_resets"] == 2
    assert await store.spend_password_reset(live, NOW) is not None


async def test_server_secret_keeps_the_first_value_written(store: SqlStore) -> None:
    """Instances starting together agree on one secret: the first stored."""
    candidates = [secrets.token_bytes(32) for _ in range(5)]

    values = await asyncio.gather(
        *(store.server_secret("csrf", value, NOW) for value in candidates)
    )

    assert len(set(values)) == 1 and values[0] in candidates
    assert await store.server_secret("csrf", b"later", NOW) == values[0]
