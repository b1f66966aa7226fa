"""Key ring reloads: periodic, early on an unknown `kid`, and never more than allowed."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable

import pytest

from tests.conftest import make_settings
from tokenward import Tokenward
from tokenward.clock import FrozenClock
from tokenward.errors import InvalidToken, StorageUnavailable
from tokenward.keys import KeyRing
from tokenward.keysync import KeySync
from tokenward.store.memory import MemoryStore

WAIT_LIMIT = 5.0  # a guard against hanging, not a timing assertion


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.key_reads = 0
        self.failing = False

    async def list_signing_keys(self):  # type: ignore[no-untyped-def]
        self.key_reads += 1
        if self.failing:
            raise StorageUnavailable()
        return await super().list_signing_keys()


async def until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), WAIT_LIMIT)


@contextlib.asynccontextmanager
async def started(tokenward: Tokenward) -> AsyncIterator[Tokenward]:
    async with tokenward.running():
        await until(lambda: tokenward.keysync._loop is not None)
        yield tokenward


def test_early_reloads_keep_to_one_per_gap(clock: FrozenClock) -> None:
    """An early reload waits out what is left of `min_gap` since the last one."""
    now = [100.0]
    sync = KeySync(KeyRing("ES256"), MemoryStore(), clock, 5, 1.0, lambda: now[0])

    first = sync.delay_before_reload()
    sync._last_reload = 100.0
    now[0] = 100.25
    soon_after = sync.delay_before_reload()
    now[0] = 101.5
    later = sync.delay_before_reload()

    assert first == 0
    assert soon_after == pytest.approx(0.75)
    assert later == 0


async def test_unknown_kid_triggers_a_background_reload(clock: FrozenClock) -> None:
    """A token of a key made elsewhere fails once, and the reload makes it pass."""
    store = CountingStore()
    settings = make_settings(key_refresh_interval=10)
    async with started(Tokenward(settings, store=store, clock=clock)) as ours:
        elsewhere = Tokenward(settings, store=store, clock=clock)
        await elsewhere.keyring.ensure_current(store, clock.now())
        await elsewhere.rotate_keys()
        clock.advance(3600)
        await elsewhere.keyring.load(store, clock.now())
        token = elsewhere.tokens.issue("user-1", "session-1", "").token
        reads_before = store.key_reads

        with pytest.raises(InvalidToken):
            ours.tokens.verify(token)
        await until(lambda: ours.keyring.get(elsewhere.keyring.current.kid) is not None)

        assert ours.tokens.verify(token).sub == "user-1"
        assert store.key_reads == reads_before + 1


async def test_a_flood_of_unknown_kids_costs_one_reload(clock: FrozenClock) -> None:
    """Many tokens naming unknown keys within `min_gap` cause a single database read."""
    store = CountingStore()
    settings = make_settings(key_refresh_interval=10)
    async with started(Tokenward(settings, store=store, clock=clock)) as ours:
        ours.keysync.min_gap = 60
        forged = ours.tokens.issue("user-1", "session-1", "").token
        header = forged.split(".")[0]
        reloads_before = ours.keysync.reloads

        for _ in range(200):
            with pytest.raises(InvalidToken):
                ours.tokens.verify(forged.replace(header, _unknown_kid_header()))
        await until(lambda: ours.keysync.reloads == reloads_before + 1)
        for _ in range(10):
            await asyncio.sleep(0)

        assert ours.keysync.reloads == reloads_before + 1


async def test_a_failed_reload_keeps_the_keys(
    clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """When the database does not answer, the ring keeps its keys and says why."""
    store = CountingStore()
    async with started(Tokenward(make_settings(), store=store, clock=clock)) as ours:
        kid = ours.keyring.current.kid
        store.failing = True

        with caplog.at_level(logging.WARNING, logger="tokenward.keys"):
            await ours.keysync.reload()

        assert ours.keyring.current.kid == kid
        assert "key ring reload failed" in caplog.text


def _unknown_kid_header() -> str:
    header = {"alg": "ES256", "typ": "at+jwt", "kid": secrets.token_urlsafe(16)}
    raw = json.dumps(header, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
