"""The revocation view stays bounded: entries leave once their tokens have expired."""

from __future__ import annotations

from datetime import timedelta

from tokenward.clock import FrozenClock
from tokenward.core import Tokenward
from tokenward.errors import TokenRevoked
from tokenward.revocation import RevocationView
from tokenward.sessions import ClientInfo

LIFETIME = timedelta(seconds=930)


def test_view_shrinks_as_revocations_expire(clock: FrozenClock) -> None:
    """Revocations leave the view in the order their tokens expire, no sooner."""
    view = RevocationView()
    start = clock.now()
    for i in range(100):
        view.revoke_session(f"s-{i}", clock.now() + LIFETIME)
        clock.advance(10)

    clock.set(start + LIFETIME + timedelta(seconds=495))
    forgotten = view.forget_expired(clock.now())

    assert forgotten == 50
    assert len(view) == 50
    assert not view.is_session_revoked("s-49")
    assert view.is_session_revoked("s-50")

    clock.advance(1000)
    assert view.forget_expired(clock.now()) == 50
    assert len(view) == 0


def test_view_is_bounded_by_one_token_lifetime(clock: FrozenClock) -> None:
    """Revoking steadily, the view never holds more than one lifetime's revocations."""
    view = RevocationView()
    sizes = []
    for i in range(3 * 930):
        view.revoke_session(f"s-{i}", clock.now() + LIFETIME)
        clock.advance(1)
        view.forget_expired(clock.now())
        sizes.append(len(view))

    # An entry made `LIFETIME` ago has expired, so at most 929 seconds' worth remain.
    assert max(sizes) == 929
    assert sizes[-1] == 929


def test_revoking_again_extends_and_leaves_no_stale_entry(clock: FrozenClock) -> None:
    """A session seen twice (feed overlap) is kept until its later expiry, then gone."""
    view = RevocationView()
    view.revoke_session("s-1", clock.now() + timedelta(seconds=100))
    view.revoke_session("s-1", clock.now() + timedelta(seconds=200))
    view.revoke_session("s-1", clock.now() + timedelta(seconds=150))

    clock.advance(150)
    assert view.forget_expired(clock.now()) == 0
    assert view.is_session_revoked("s-1")

    clock.advance(50)
    assert view.forget_expired(clock.now()) == 1
    assert len(view) == 0


def test_user_cutoff_moves_forward_and_expires(clock: FrozenClock) -> None:
    """A user's later cutoff kills later tokens; the entry goes at the later expiry."""
    view = RevocationView()
    first = clock.now()
    view.add_user_cutoff("u-1", first, first + timedelta(seconds=100))
    clock.advance(50)
    view.add_user_cutoff("u-1", clock.now(), clock.now() + timedelta(seconds=100))
    view.add_user_cutoff("u-1", first, first + timedelta(seconds=100))

    issued_between = int(first.timestamp()) + 10
    assert _revoked(view, "u-1", issued_between)

    clock.advance(60)
    assert view.forget_expired(clock.now()) == 0
    clock.advance(40)
    assert view.forget_expired(clock.now()) == 1
    assert not _revoked(view, "u-1", issued_between)


async def test_feed_forgets_what_expired(
    memory_tokenward: Tokenward, clock: FrozenClock
) -> None:
    """After logouts, the running instance's view empties once their tokens expired."""
    tokenward = memory_tokenward
    client = ClientInfo(ip="127.0.0.1")
    for _ in range(20):
        session, _token = await tokenward.sessions.open("user-1", client)
        await tokenward.sessions.revoke(session.id, "logout")
    assert len(tokenward.revocations) == 20

    await tokenward._feed.poll_once()
    assert len(tokenward.revocations) == 20

    settings = tokenward.settings
    clock.advance(settings.access_ttl + settings.leeway)
    await tokenward._feed.poll_once()
    assert len(tokenward.revocations) == 0


def _revoked(view: RevocationView, user_id: str, issued_at: int) -> bool:
    try:
        view.check("any-session", user_id, issued_at)
    except TokenRevoked:
        return True
    return False
