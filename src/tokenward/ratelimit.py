"""Rate limits over the `limits` library: per client address, and failed logins.

Counters live in memory by default and in Redis when `TOKENWARD_REDIS_URL` is set, so
that every instance shares them. Failed logins are counted per account in sliding
windows, so a stranger's failures can hold an account for at most one window.
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from tokenward.errors import RateLimited


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

    async def hit_address(self, ip: str | None) -> None:
        """Count one request from this address to the `/auth` routes."""
        await self._hit(self._ip_limits, "ip", ip or "unknown")

    async def check_login(self, account: str) -> None:
        """Refuse a login attempt while the account has too many recent failures."""
        for limit in self._login_limits:
            if not await self._limiter.test(limit, "login", account):
                raise RateLimited(await self._retry_after(limit, "login", account))

    async def login_failed(self, account: str) -> None:
        for limit in self._login_limits:
            await self._limiter.hit(limit, "login", account)

    async def _hit(self, limits: list[RateLimitItem], *identifiers: str) -> None:
        for limit in limits:
            if not await self._limiter.hit(limit, *identifiers):
                raise RateLimited(await self._retry_after(limit, *identifiers))

    async def _retry_after(self, limit: RateLimitItem, *identifiers: str) -> int:
        stats = await self._limiter.get_window_stats(limit, *identifiers)
        return int(stats.reset_time - time.time()) + 1

    async def reset(self) -> None:
        await self.storage.reset()


def _async_redis_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"
