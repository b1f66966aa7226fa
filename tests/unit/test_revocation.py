"""The revocation view and the feed that carries revocations between instances."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import PASSWORD, make_settings
from tokenward import Tokenward
from tokenward.clock import FrozenClock
from tokenward.errors import TokenRevoked
from tokenward.revocation import RevocationView
from tokenward.sessions import ClientInfo
from tokenward.store.memory import MemoryStore


def test_entries_are_forgotten_once_their_tokens_have_expired() -> None:
    clock = FrozenClock()
    view = RevocationView()
    view.revoke_session("old", clock.now() + timedelta(seconds=10))
    view.revoke_session("new", clock.now() + timedelta(seconds=100))

    clock.advance(50)
    forgotten = view.forget_expired(clock.now())

    assert forgotten == 1
    assert len(view) == 1
    assert view.is_session_revoked("new") and not view.is_session_revoked("old")


def test_user_cutoff_kills_tokens_issued_before_it_only() -> None:
    clock = FrozenClock()
    view = RevocationView()
    cutoff = clock.now()
    view.add_user_cutoff("user", cutoff, cutoff + timedelta(minutes=20))

    with pytest.raises(TokenRevoked):
        view.check("any-session", "user", int(cutoff.timestamp()) - 5)
    view.check("any-session", "user", int(cutoff.timestamp()) + 5)
    view.check("any-session", "someone-else", int(cutoff.timestamp()) - 5)


async def test_another_instance_learns_of_a_revocation_from_the_feed() -> None:
    """Instance B rejects a token that instance A revoked, after one poll."""
    clock, store = FrozenClock(), MemoryStore()
    a = Tokenward(make_settings(), store=store, clock=clock)
    b = Tokenward(make_settings(), store=store, clock=clock)
    async with a.running(), b.running():
        session, _ = await a.sessions.open("user-1", ClientInfo())
        token = a.tokens.issue("user-1", session.id, "").token
        b.tokens.verify(token)

        await a.sessions.revoke(session.id, "logout")
        with pytest.raises(TokenRevoked):
            a.tokens.verify(token)
        b.tokens.verify(token)  # not yet: B has not polled

        clock.advance(0.5)
        await b._feed.poll_once()

        with pytest.raises(TokenRevoked):
            b.tokens.verify(token)


async def test_disabling_a_user_revokes_every_token_of_theirs(
    memory_tokenward: Tokenward, clock: FrozenClock
) -> None:
    user = await memory_tokenward.accounts.register("dee@example.com", PASSWORD)
    session, _ = await memory_tokenward.sessions.open(user.id, ClientInfo())
    token = memory_tokenward.tokens.issue(user.id, session.id, "").token
    clock.advance(1)

    await memory_tokenward.set_user_active(user, False)

    with pytest.raises(TokenRevoked):
        memory_tokenward.tokens.verify(token)


async def test_login_in_the_same_second_after_re_enabling_gets_a_live_token(
    memory_tokenward: Tokenward, clock: FrozenClock
) -> None:
    """Disable, enable and log in within one second: the new token is not revoked."""
    user = await memory_tokenward.accounts.register("eve@example.com", PASSWORD)
    await memory_tokenward.set_user_active(user, False)
    await memory_tokenward.set_user_active(user, True)

    clock.advance(0.2)
    session, _ = await memory_tokenward.sessions.open(user.id, ClientInfo())
    token = memory_tokenward.tokens.issue(user.id, session.id, "").token

    claims = memory_tokenward.tokens.verify(token)
    assert claims.iat == int(clock.now().timestamp()) + 1
