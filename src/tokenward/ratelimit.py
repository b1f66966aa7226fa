"""Rate limits over the `limits` library: per client address, and login attempts.

Counters live in memory by default and in Redis when `TOKENWARD_REDIS_URL` is set, so
that every instance shares them. Every window is a moving (sliding) window, except
the per-address limit over `/auth` in memory: every request passes it, so it is kept
in `ratewindow`'s sliding-window counters, a microsecond a hit.

Each password attempt is counted before the password is checked, not after it failed:
otherwise a burst of simultaneous guesses would all pass the check before the first
failure was recorded. The policy keeps a guesser out without handing him a lock on the
victim:

- per account *and* address (`login_pair_rate`, strict): one address guessing one
  account is stopped early, and only that address is stopped; a success clears it;
- per account from any address (`login_rate`, looser): a guess spread over many
  addresses is stopped too, but an address that logged in to the account successfully
  within `KNOWN_ADDRESS_TTL` is exempt, so the owner still gets in during such an
  attack;
- per address over any account (`login_ip_rate`): one address spraying guesses over
  many accounts.

Attempts count for unknown emails as for real ones, so a 429 says nothing about which
accounts exist. A refused attempt is not counted, and no counter outlives its longest
window, so once the guessing stops, every lock lifts. Emails and addresses are hashed
before they become keys.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from tokenward.errors import RateLimited, StorageUnavailable
from tokenward.ratewindow import SlidingWindows

KNOWN_ADDRESS_TTL = 30 * 24 * 3600
_NAMESPACE = "tokenward"
P = ParamSpec("P")


def _guarded(
    method: Callable[P, Awaitable[None]],
) -> Callable[P, Awaitable[None]]:
    """Report a counter store that does not answer as `StorageUnavailable` (503)."""

    @functools.wraps(method)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await method(*args, **kwargs)
        except (StorageError, OSError, TimeoutError) as exc:
            raise StorageUnavailable() from exc

    return guarded


class RateLimiter:
    def __init__(
        self,
        ip_rate: str,
        login_rate: str,
        redis_url: str | None = None,
        *,
        login_pair_rate: str | None = None,
        login_ip_rate: str | None = None,
    ) -> None:
        self.storage: Storage = (
            storage_from_string(
                _async_redis_uri(redis_url),
                implementation="redispy",
                wrap_exceptions=True,
            )
            if redis_url
            else MemoryStorage()
        )
        self._limiter = MovingWindowRateLimiter(self.storage)
        self._ip_limits = parse_many(ip_rate)
        self._account_limits = parse_many(login_rate)
        self._pair_limits = parse_many(login_pair_rate or login_rate)
        self._failure_ip_limits = parse_many(login_ip_rate) if login_ip_rate else []
        self._local_addresses = None if redis_url else SlidingWindows(self._ip_limits)

    @_guarded
    async def hit_address(self, ip: str | None) -> None:
        """Count one request from this address to the `/auth` routes."""
        if self._local_addresses is not None:
            wait = self._local_addresses.hit(ip or "unknown")
            if wait is not None:
                raise RateLimited(wait)
            return
        await self._hit(self._ip_limits, "ip", _digest(ip or "unknown"))

    @_guarded
    async def attempt_login(self, account: str, ip: str | None = None) -> None:
        """Count one password attempt, or refuse it past any login limit."""
        keys = _LoginKeys(account, ip)
        await self._hit(self._pair_limits, "login-pair", keys.pair)
        await self._hit(self._failure_ip_limits, "login-ip", keys.ip)
        if not await self._is_known(keys):
            await self._hit(self._account_limits, "login-account", keys.account)

    @_guarded
    async def login_succeeded(self, account: str, ip: str | None = None) -> None:
        """Forget the pair's failures and remember the address as the owner's."""
        keys = _LoginKeys(account, ip)
        for limit in self._pair_limits:
            await self._limiter.clear(limit, "login-pair", keys.pair)
        if ip is not None:
            await self.storage.clear(keys.known)
            await self.storage.incr(keys.known, KNOWN_ADDRESS_TTL)

    async def _is_known(self, keys: _LoginKeys) -> bool:
        return keys.has_ip and await self.storage.get(keys.known) > 0

    async def _hit(self, limits: list[RateLimitItem], *identifiers: str) -> None:
        for limit in limits:
            if not await self._limiter.hit(limit, *identifiers):
                raise RateLimited(await self._retry_after(limit, *identifiers))

    async def _retry_after(self, limit: RateLimitItem, *identifiers: str) -> int:
        stats = await self._limiter.get_window_stats(limit, *identifiers)
        return math.ceil(stats.reset_time - time.time())

    async def reset(self) -> None:
        await self.storage.reset()


class _LoginKeys:
    """The counter names of one login attempt; hashes, never the email or address."""

    def __init__(self, account: str, ip: str | None) -> None:
        self.has_ip = ip is not None
        address = ip or "unknown"
        self.account = _digest(account)
        self.ip = _digest(address)
        self.pair = _digest(f"{account}\x00{address}")
        self.known = f"{_NAMESPACE}/known/{self.pair}"


def _digest(value: str) -> str:
    return hashlib.sha256(f"{_NAMESPACE}\x00{value}".encode()).hexdigest()[:32]


def _async_redis_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"
