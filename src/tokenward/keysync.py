"""Keeps each instance's key ring in step with the database.

The ring reloads every `key_refresh_interval`, so a key made by the CLI or by another
instance is known everywhere within that interval. A token naming an unknown `kid`
asks for an early reload, granted at most once per `min_gap`: a flood of forged `kid`s
costs one database read per `min_gap`, never one per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from tokenward.clock import Clock
from tokenward.errors import TokenwardError
from tokenward.keys import KeyRing
from tokenward.store.base import Store

logger = logging.getLogger("tokenward.keys")

# Time for a reload to finish everywhere before a new key may sign.
ACTIVATION_MARGIN = 1.0
MIN_RELOAD_GAP = 1.0


@dataclass(frozen=True, slots=True)
class KeySchedule:
    """When a new key starts signing, and when an old one stops being published."""

    refresh_interval: float
    activation_delay: timedelta
    retire_delay: timedelta

    @classmethod
    def of(cls, access_ttl: int, leeway: int, refresh_interval: float) -> KeySchedule:
        """Derive the schedule from the token lifetime and the reload interval.

        A new key signs once every instance has had a reload to learn it. An old key
        stays published until the last instance stopped signing with it, plus the
        lifetime and leeway of the last token it signed.
        """
        activation = timedelta(seconds=refresh_interval + ACTIVATION_MARGIN)
        last_signature = activation + timedelta(seconds=refresh_interval)
        retire = last_signature + timedelta(seconds=access_ttl + leeway)
        return cls(refresh_interval, activation, retire)


class KeySync:
    def __init__(
        self,
        keyring: KeyRing,
        store: Store,
        clock: Clock,
        interval: float,
        min_gap: float = MIN_RELOAD_GAP,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keyring = keyring
        self.store = store
        self.clock = clock
        self.interval = interval
        self.min_gap = min_gap
        self.reloads = 0
        self._monotonic = monotonic
        self._last_reload = float("-inf")
        self._wanted = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def request_reload(self) -> None:
        """Ask for an early reload; cheap, never waits, safe from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wanted.set()
        else:
            loop.call_soon_threadsafe(self._wanted.set)

    def delay_before_reload(self) -> float:
        """Seconds an early reload must wait to keep to one per `min_gap`."""
        return max(0.0, self._last_reload + self.min_gap - self._monotonic())

    async def reload(self) -> None:
        """Reload now; a failure keeps the keys we have and is logged."""
        self._last_reload = self._monotonic()
        self.reloads += 1
        try:
            await self.keyring.load(self.store, self.clock.now())
        except TokenwardError as exc:
            logger.warning("key ring reload failed, keeping the keys: %s", exc.detail)
        except Exception as exc:  # whatever one reload hits, the keys we have stay
            logger.warning("key ring reload failed, keeping the keys: %r", exc)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            requested = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wanted.wait(), self.interval)
                requested = True
            if requested:
                await asyncio.sleep(self.delay_before_reload())
            self._wanted.clear()
            await self.reload()
