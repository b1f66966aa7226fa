"""The verified-token cache: revocation, expiry and key retirement still apply at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tokenward.clock import FrozenClock
from tokenward.errors import InvalidToken, TokenExpired, TokenRevoked
from tokenward.keys import KeyRing
from tokenward.revocation import RevocationView
from tokenward.store.memory import MemoryStore
from tokenward.tokens import TokenService, VerifiedTokens

ACCESS_TTL = 900
LEEWAY = 30


class Counting:
    """Counts the full verifications a service runs, so a cache hit is observable."""

    def __init__(self, service: TokenService) -> None:
        self.calls = 0
        self._inner = service._verify_uncached
        service._verify_uncached = self  # type: ignore[method-assign]

    def __call__(self, token: str):  # type: ignore[no-untyped-def]
        self.calls += 1
        return self._inner(token)


@pytest.fixture
async def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def keyring(store: MemoryStore, clock: FrozenClock) -> KeyRing:
    ring = KeyRing("ES256")
    await ring.ensure_current(store, clock.now())
    return ring


def make_service(
    keyring: KeyRing, clock: FrozenClock, cache_size: int = 100
) -> TokenService:
    return TokenService(
        keyring,
        RevocationView(),
        clock,
        issuer="http://localhost:8000",
        audience="tokenward",
        access_ttl=ACCESS_TTL,
        leeway=LEEWAY,
        cache_size=cache_size,
    )


def test_repeated_token_is_verified_once(keyring: KeyRing, clock: FrozenClock) -> None:
    """A second verification of the same token is answered from the cache."""
    service = make_service(keyring, clock)
    counter = Counting(service)
    token = service.issue("user-1", "session-1", "read").token

    first = service.verify(token)
    second = service.verify(token)

    assert counter.calls == 1
    assert second == first
    assert second.sub == "user-1"


def test_revoked_session_fails_on_a_cache_hit(
    keyring: KeyRing, clock: FrozenClock
) -> None:
    """Revoking the session rejects a token that is already cached, at once."""
    service = make_service(keyring, clock)
    token = service.issue("user-1", "session-1", "").token
    service.verify(token)

    service.revocations.revoke_session("session-1", clock.now() + timedelta(hours=1))

    with pytest.raises(TokenRevoked):
        service.verify(token)
    assert len(service.verified) == 1


def test_user_cutoff_fails_on_a_cache_hit(keyring: KeyRing, clock: FrozenClock) -> None:
    """A user-wide revocation (password reset, disabled) rejects cached tokens."""
    service = make_service(keyring, clock)
    token = service.issue("user-1", "session-1", "").token
    service.verify(token)
    clock.advance(1)

    service.revocations.add_user_cutoff(
        "user-1", clock.now(), clock.now() + timedelta(hours=1)
    )

    with pytest.raises(TokenRevoked):
        service.verify(token)


def test_user_cutoff_spares_tokens_issued_after_it(
    keyring: KeyRing, clock: FrozenClock
) -> None:
    """A token issued after the user's cutoff still verifies from the cache."""
    service = make_service(keyring, clock)
    service.revocations.add_user_cutoff(
        "user-1", clock.now(), clock.now() + timedelta(hours=1)
    )
    clock.advance(1)
    token = service.issue("user-1", "session-2", "").token

    service.verify(token)

    assert service.verify(token).sid == "session-2"


def test_expired_cached_token_fails_and_leaves_the_cache(
    keyring: KeyRing, clock: FrozenClock
) -> None:
    """Past `exp` plus the leeway a cached token is expired, and is dropped."""
    service = make_service(keyring, clock)
    token = service.issue("user-1", "session-1", "").token
    service.verify(token)

    clock.advance(ACCESS_TTL + LEEWAY - 1)
    assert service.verify(token).sub == "user-1"

    clock.advance(1)
    with pytest.raises(TokenExpired):
        service.verify(token)
    assert len(service.verified) == 0


async def test_retired_key_fails_on_a_cache_hit(
    keyring: KeyRing, store: MemoryStore, clock: FrozenClock
) -> None:
    """Once its signing key leaves the ring, a cached token is checked afresh: refused."""
    service = make_service(keyring, clock)
    old_kid = keyring.current.kid
    token = service.issue("user-1", "session-1", "").token
    service.verify(token)

    await keyring.rotate(store, clock.now(), retire_delay=timedelta(seconds=60))
    clock.advance(61)
    await keyring.load(store, clock.now())

    assert keyring.get(old_kid) is None
    with pytest.raises(InvalidToken):
        service.verify(token)


def test_cache_is_keyed_by_the_exact_token(keyring: KeyRing, clock: FrozenClock) -> None:
    """A cached token does not vouch for another string with a changed signature."""
    service = make_service(keyring, clock)
    token = service.issue("user-1", "session-1", "").token
    service.verify(token)
    head, payload, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")

    with pytest.raises(InvalidToken):
        service.verify(f"{head}.{payload}.{flipped}")


def test_cache_is_bounded(keyring: KeyRing, clock: FrozenClock) -> None:
    """The cache never holds more than its size; the least recently used goes first."""
    service = make_service(keyring, clock, cache_size=3)
    counter = Counting(service)
    tokens = [service.issue(f"user-{i}", f"s-{i}", "").token for i in range(5)]
    for token in tokens[:3]:
        service.verify(token)
    service.verify(tokens[0])

    for token in tokens[3:]:
        service.verify(token)

    assert len(service.verified) == 3
    assert counter.calls == 5
    service.verify(tokens[0])
    assert counter.calls == 5
    service.verify(tokens[1])
    assert counter.calls == 6


def test_size_zero_disables_the_cache(keyring: KeyRing, clock: FrozenClock) -> None:
    """With a size of 0 every verification runs every check."""
    service = make_service(keyring, clock, cache_size=0)
    counter = Counting(service)
    token = service.issue("user-1", "session-1", "").token

    service.verify(token)
    service.verify(token)

    assert counter.calls == 2
    assert len(service.verified) == 0


def test_verified_tokens_put_and_discard() -> None:
    """The cache container itself stays within its bound and forgets on demand."""
    cache = VerifiedTokens(max_entries=2)
    key = object()

    for name in ("a", "b", "c"):
        cache.put(name, None, key)  # type: ignore[arg-type]
    cache.discard("c")

    assert len(cache) == 1
    assert cache.get("b") is not None
    assert cache.get("a") is None
