"""Rate limits over the `limits` library: per client address, and failed logins.

Counters live in memory by default and in Redis when `TOKENWARD_REDIS_URL` is set, so
that every instance shares them. Failed logins are counted per account in sliding
windows, so a stranger's failures can hold an account for at most one window.
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter, SlidingWindowCounterRateLimiter
from limits.aio.strategies import RateLimiter as Strategy
from limits.storage import storage_from_string

from tokenward.errors import RateLimited
from tokenward.ratewindow import SlidingWindows


class RateLimiter:
    def __init__(
        self, ip_rate: str, login_rate: str, redis_url: str | None = None
    ) -> None:
        self.storage: Storage = (
            storage_from_string(_async_redis_uri(redis_url))
            if redis_url
            else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._ip_limits = parse_many(ip_rate)
        self._login_limits = parse_many(login_rate)
        # Every `/auth` request passes here: sliding-window counters, not a list of
        # every hit, and in plain memory unless Redis must share them.
        self._address_limiter = SlidingWindowCounterRateLimiter(self.storage)
        self._local_addresses = None if redis_url else SlidingWindows(self._ip_limits)

    async def hit_address(self, ip: str | None) -> None:
        """Count one request from this address to the `/auth` routes."""
        if self._local_addresses is not None:
            wait = self._local_addresses.hit(ip or "unknown")
            if wait is not None:
                raise RateLimited(wait)
            return
        await self._hit(self._address_limiter, self._ip_limits, "ip", ip or "unknown")

    async def check_login(self, account: str) -> None:
        """Refuse a login attempt while the account has too many recent failures."""
        for limit in self._login_limits:
            if not await self._limiter.test(limit, "login", account):
                raise RateLimited(
                    await self._retry_after(self._limiter, limit, "login", account)
                )

    async def login_failed(self, account: str) -> None:
        for limit in self._login_limits:
            await self._limiter.hit(limit, "login", account)

    async def _hit(
        self, limiter: Strategy, limits: list[RateLimitItem], *identifiers: str
    ) -> None:
        for limit in limits:
            if not await limiter.hit(limit, *identifiers):
                raise RateLimited(await self._retry_after(limiter, limit, *identifiers))

    async def _retry_after(
        self, limiter: Strategy, limit: RateLimitItem, *identifiers: str
    ) -> int:
        stats = await limiter.get_window_stats(limit, *identifiers)
        return int(stats.reset_time - time.time()) + 1

    async def reset(self) -> None:
        await self.storage.reset()


def _async_redis_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"
