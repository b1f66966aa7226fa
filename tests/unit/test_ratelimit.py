"""The login-attempt policy: per account and address pair, per account, per address.

The in-memory counters read `time.time()`; these tests replace it with a clock they
move by hand, so windows slide without sleeping. The Redis tests run the same policy
against the local Redis.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator

import pytest
from limits.aio.storage import memory

from tokenward import ratelimit
from tokenward.errors import RateLimited, StorageUnavailable
from tokenward.ratelimit import RateLimiter

REDIS_URL = "redis://127.0.0.1:6379"
VICTIM = "victim@example.com"
HOME, ATTACKER, CAFE = "127.0.0.10", "127.0.0.66", "127.0.0.20"


class ManualTime:
    """Stands in for the `time` module where the limiter reads the time."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualTime:
    manual = ManualTime()
    monkeypatch.setattr(memory, "time", manual)
    monkeypatch.setattr(ratelimit, "time", manual)
    return manual


def limiter(**rates: str) -> RateLimiter:
    return RateLimiter(
        rates.get("ip_rate", "1000/minute"),
        rates.get("login_rate", "10/minute"),
        rates.get("redis_url"),
        login_pair_rate=rates.get("login_pair_rate", "3/minute"),
        login_ip_rate=rates.get("login_ip_rate", "100/minute"),
    )


async def fail(limits: RateLimiter, account: str, ip: str, times: int) -> None:
    """Make `times` attempts that the limits let through (and that then fail)."""
    for _ in range(times):
        await limits.attempt_login(account, ip)


async def test_pair_limit_stops_one_address_guessing_one_account(
    clock: ManualTime,
) -> None:
    """Three failures from one address lock that address out of that account only."""
    limits = limiter()
    await fail(limits, VICTIM, ATTACKER, 3)

    with pytest.raises(RateLimited) as refused:
        await limits.attempt_login(VICTIM, ATTACKER)

    assert 1 <= refused.value.retry_after <= 60
    await limits.attempt_login(VICTIM, HOME)
    await limits.attempt_login("someone@example.com", ATTACKER)


async def test_owner_from_a_known_address_gets_in_during_a_spread_attack(
    clock: ManualTime,
) -> None:
    """Failures spread over many addresses exhaust the account limit, yet the owner's
    address, which logged in before, is exempt from it; a new address is not."""
    limits = limiter()
    await limits.login_succeeded(VICTIM, HOME)
    for n in range(10):
        await fail(limits, VICTIM, f"127.0.1.{n}", 1)

    await limits.attempt_login(VICTIM, HOME)
    with pytest.raises(RateLimited):
        await limits.attempt_login(VICTIM, CAFE)


async def test_known_address_still_has_its_pair_limit(clock: ManualTime) -> None:
    """Being known exempts an address from the account limit, not from its own."""
    limits = limiter()
    await limits.login_succeeded(VICTIM, HOME)
    await fail(limits, VICTIM, HOME, 3)

    with pytest.raises(RateLimited):
        await limits.attempt_login(VICTIM, HOME)


async def test_every_lock_lifts_when_the_window_has_slid_past(clock: ManualTime) -> None:
    """Nobody is locked out for good: a minute after the last failure, all is clear."""
    limits = limiter()
    for n in range(10):
        await fail(limits, VICTIM, f"127.0.1.{n}", 1)
    with pytest.raises(RateLimited):
        await limits.attempt_login(VICTIM, CAFE)

    clock.advance(61)

    await limits.attempt_login(VICTIM, CAFE)
    await limits.attempt_login(VICTIM, ATTACKER)


async def test_window_slides_rather_than_resets(clock: ManualTime) -> None:
    """Failures leave the window one by one, each a minute after it happened."""
    limits = limiter()
    await fail(limits, VICTIM, ATTACKER, 1)
    clock.advance(30)
    await fail(limits, VICTIM, ATTACKER, 2)

    clock.advance(31)
    await limits.attempt_login(VICTIM, ATTACKER)

    with pytest.raises(RateLimited) as refused:
        await limits.attempt_login(VICTIM, ATTACKER)
    assert refused.value.retry_after == 29  # the failures of second 30 leave at 90


async def test_address_limit_stops_spraying_over_many_accounts(clock: ManualTime) -> None:
    """One address failing on many accounts is stopped for every account."""
    limits = limiter(login_ip_rate="5/minute")
    for n in range(5):
        await fail(limits, f"user{n}@example.com", ATTACKER, 1)

    with pytest.raises(RateLimited):
        await limits.attempt_login("fresh@example.com", ATTACKER)
    await limits.attempt_login("fresh@example.com", HOME)


async def test_a_burst_of_simultaneous_attempts_stays_within_the_limit(
    clock: ManualTime,
) -> None:
    """Forty guesses sent at once: only as many get through as the pair limit allows."""
    limits = limiter()

    results = await asyncio.gather(
        *(limits.attempt_login(VICTIM, ATTACKER) for _ in range(40)),
        return_exceptions=True,
    )

    assert sum(r is None for r in results) == 3
    assert all(isinstance(r, RateLimited) for r in results if r is not None)


async def test_success_clears_the_pairs_failures(clock: ManualTime) -> None:
    """A user who mistyped twice and then got in starts again from zero."""
    limits = limiter()
    await fail(limits, VICTIM, HOME, 2)
    await limits.login_succeeded(VICTIM, HOME)
    await fail(limits, VICTIM, HOME, 2)

    await limits.attempt_login(VICTIM, HOME)


async def test_unknown_accounts_are_counted_like_real_ones(clock: ManualTime) -> None:
    """The limiter never asks whether the account exists, so 429 reveals nothing."""
    limits = limiter()
    await fail(limits, "nobody-here@example.com", ATTACKER, 3)

    with pytest.raises(RateLimited):
        await limits.attempt_login("nobody-here@example.com", ATTACKER)


async def test_counter_keys_hold_no_email_or_address(clock: ManualTime) -> None:
    """Emails and addresses are hashed before they name a counter."""
    limits = limiter()
    await fail(limits, VICTIM, ATTACKER, 2)
    await limits.login_succeeded(VICTIM, HOME)
    await limits.hit_address(ATTACKER)

    storage = limits.storage
    assert isinstance(storage, memory.MemoryStorage)
    names = " ".join([*storage.events, *storage.storage])
    assert names
    assert "victim" not in names and "127.0.0" not in names


def test_rates_in_settings_are_checked_at_start() -> None:
    """A mistyped rate stops the start with a clear message, not the first login."""
    from pydantic import ValidationError

    from tests.conftest import make_settings

    with pytest.raises(ValidationError, match="limits notation"):
        make_settings(login_pair_rate="five a minute")


@pytest.fixture
async def redis_limiter() -> AsyncIterator[RateLimiter]:
    """The policy on the local Redis; skipped when no Redis answers."""
    limits = limiter(redis_url=REDIS_URL)
    try:
        if not await limits.storage.check():
            pytest.skip("Redis is not reachable")
    except Exception:
        pytest.skip("Redis is not reachable")
    yield limits


async def test_redis_counts_are_shared_between_instances(
    redis_limiter: RateLimiter,
) -> None:
    """Two limiters on one Redis see each other's failures, as two servers would."""
    account = f"{secrets.token_hex(6)}@example.com"
    other = limiter(redis_url=REDIS_URL)
    await fail(redis_limiter, account, ATTACKER, 2)
    await fail(other, account, ATTACKER, 1)

    with pytest.raises(RateLimited) as refused:
        await other.attempt_login(account, ATTACKER)
    assert 1 <= refused.value.retry_after <= 60
    await redis_limiter.attempt_login(account, HOME)


async def test_redis_remembers_known_addresses(redis_limiter: RateLimiter) -> None:
    """The owner's exemption from the account limit works through Redis too."""
    account = f"{secrets.token_hex(6)}@example.com"
    await redis_limiter.login_succeeded(account, HOME)
    for n in range(10):
        await fail(redis_limiter, account, f"127.0.2.{n}", 1)

    await redis_limiter.attempt_login(account, HOME)
    with pytest.raises(RateLimited):
        await redis_limiter.attempt_login(account, CAFE)


async def test_unreachable_redis_is_storage_unavailable() -> None:
    """A Redis that does not answer is an outage (503), never a pass or a crash."""
    limits = limiter(redis_url="redis://127.0.0.1:1")

    with pytest.raises(StorageUnavailable):
        await limits.attempt_login(VICTIM, HOME)
    with pytest.raises(StorageUnavailable):
        await limits.hit_address(HOME)
