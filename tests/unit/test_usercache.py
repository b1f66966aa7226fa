"""The user-record cache behind `current_user`: fresh within a second, never stale."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.conftest import PASSWORD
from tokenward.core import Tokenward
from tokenward.errors import StorageUnavailable
from tokenward.store.memory import MemoryStore
from tokenward.store.records import User
from tokenward.usercache import UserCache

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class CountingStore(MemoryStore):
    """A memory store that counts user reads, and can hold one read mid-way."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.gate: asyncio.Event | None = None

    async def get_user(self, user_id: str) -> User | None:
        self.reads += 1
        user = self.users.get(user_id)
        if self.gate is not None:
            await self.gate.wait()
        return user


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _user(user_id: str = "u-1", active: bool = True) -> User:
    return User(user_id, "a@example.com", "a@example.com", "hash", NOW, NOW, active)


async def test_repeated_reads_within_the_ttl_use_memory() -> None:
    """Within the TTL the store is read once; after it, again."""
    store, ticks = CountingStore(), Ticks()
    await store.add_user(_user())
    cache = UserCache(store, ttl=1.0, clock=ticks)

    for _ in range(5):
        assert (await cache.get("u-1")) is not None
    assert store.reads == 1

    ticks.now += 1.0
    await cache.get("u-1")
    assert store.reads == 2


async def test_invalidate_makes_the_next_read_fresh() -> None:
    """A change made here is visible at once, not after the TTL."""
    store = CountingStore()
    await store.add_user(_user())
    cache = UserCache(store, ttl=10.0, clock=Ticks())
    await cache.get("u-1")

    await store.set_user_active("u-1", False)
    cache.invalidate("u-1")

    user = await cache.get("u-1")
    assert user is not None and user.is_active is False


async def test_a_read_overtaken_by_a_change_is_not_kept() -> None:
    """A record read while the user was being changed is returned but not cached."""
    store = CountingStore()
    await store.add_user(_user())
    cache = UserCache(store, ttl=10.0, clock=Ticks())
    store.gate = asyncio.Event()

    read = asyncio.create_task(cache.get("u-1"))
    await asyncio.sleep(0)
    cache.invalidate("u-1")
    store.gate.set()
    await read

    assert len(cache) == 0


async def test_unknown_users_are_not_cached() -> None:
    """A missing user is looked up again next time (it may be created meanwhile)."""
    store = CountingStore()
    cache = UserCache(store, ttl=10.0, clock=Ticks())

    assert await cache.get("nobody") is None
    assert await cache.get("nobody") is None
    assert store.reads == 2


async def test_cache_is_bounded_and_can_be_disabled() -> None:
    """It holds at most `max_entries` users; a TTL of 0 holds none."""
    store = CountingStore()
    for i in range(10):
        await store.add_user(
            User(f"u-{i}", f"{i}@example.com", f"{i}@example.com", "h", NOW, NOW)
        )
    bounded = UserCache(store, ttl=10.0, max_entries=3, clock=Ticks())
    disabled = UserCache(store, ttl=0, clock=Ticks())

    for i in range(10):
        await bounded.get(f"u-{i}")
        await disabled.get(f"u-{i}")

    assert len(bounded) == 3
    assert len(disabled) == 0


async def test_disabling_a_user_is_seen_at_once(memory_tokenward: Tokenward) -> None:
    """`Tokenward.set_user_active` drops the cached record of the user it changes."""
    user = await memory_tokenward.register("b@example.com", PASSWORD)
    assert (await memory_tokenward.user_cache.get(user.id)).is_active  # type: ignore[union-attr]

    await memory_tokenward.set_user_active(user, False)

    cached = await memory_tokenward.user_cache.get(user.id)
    assert cached is not None and cached.is_active is False


async def test_concurrent_misses_share_one_read() -> None:
    """Twenty requests for an expired user cost one store read, not twenty."""
    store = CountingStore()
    await store.add_user(_user())
    cache = UserCache(store, ttl=1.0, clock=Ticks())
    store.gate = asyncio.Event()

    readers = [asyncio.create_task(cache.get("u-1")) for _ in range(20)]
    await asyncio.sleep(0)
    store.gate.set()
    users = await asyncio.gather(*readers)

    assert store.reads == 1
    assert all(user is not None and user.id == "u-1" for user in users)


async def test_a_failed_shared_read_lets_the_others_read_again() -> None:
    """If the read the others wait on fails, they read for themselves."""

    class FailingOnce(CountingStore):
        async def get_user(self, user_id: str) -> User | None:
            if self.reads == 0:
                self.reads += 1
                assert self.gate is not None
                await self.gate.wait()
                raise StorageUnavailable()
            return await super().get_user(user_id)

    store = FailingOnce()
    await store.add_user(_user())
    cache = UserCache(store, ttl=1.0, clock=Ticks())
    store.gate = asyncio.Event()

    first = asyncio.create_task(cache.get("u-1"))
    await asyncio.sleep(0)
    second = asyncio.create_task(cache.get("u-1"))
    await asyncio.sleep(0)
    store.gate.set()
    store.gate = None

    with pytest.raises(StorageUnavailable):
        await first
    assert (await second) is not None


async def test_every_password_write_drops_the_cached_record(
    memory_tokenward: Tokenward,
) -> None:
    """A rehash at login and a password change are seen at once, not a second later."""
    from tokenward.passwords import PasswordHasher
    from tokenward.sessions import ClientInfo

    old_parameters = PasswordHasher(time_cost=1, memory_cost=8192 * 2, threads=1)
    user = await memory_tokenward.register("c@example.com", PASSWORD)
    stale = await old_parameters.hash(PASSWORD)
    await memory_tokenward.store.set_password_hash(user.id, stale, changed_at=None)
    memory_tokenward.user_cache.invalidate(user.id)
    assert (await memory_tokenward.user_cache.get(user.id)).password_hash == stale  # type: ignore[union-attr]

    pair = await memory_tokenward.login("c@example.com", PASSWORD, ClientInfo())
    rehashed = await memory_tokenward.user_cache.get(user.id)
    assert rehashed is not None and rehashed.password_hash != stale

    claims = memory_tokenward.tokens.verify(pair.access_token)
    new = PASSWORD + " and then some"
    await memory_tokenward.change_password(claims, PASSWORD, new, ClientInfo())
    changed = await memory_tokenward.user_cache.get(user.id)
    assert changed is not None and changed.password_hash != rehashed.password_hash
