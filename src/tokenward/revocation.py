"""The in-process view of revoked sessions and users, and the feed that keeps it current.

Verifying a token asks only this view: two dictionary look-ups, no database. Each entry
lives until every token it could kill has expired, so memory follows the number of
revocations made within one access-token lifetime, not the number ever made.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from tokenward.clock import Clock
from tokenward.errors import StorageUnavailable, TokenRevoked
from tokenward.store.base import Store
from tokenward.store.records import Revocation

logger = logging.getLogger("tokenward.revocation")

# A revocation row is stamped before its transaction commits; reading back this far
# catches rows that became visible late.
FEED_OVERLAP = timedelta(seconds=3)


class RevocationView:
    """Revoked sessions, and per user a cutoff before which every token is dead.

    Entries sit in a heap by expiry as well, so forgetting the expired ones costs
    only the entries that go, never a scan of all that stay.
    """

    def __init__(self) -> None:
        self._sessions: dict[str, float] = {}
        self._users: dict[str, tuple[float, float]] = {}
        self._expiries: list[tuple[float, bool, str]] = []

    def __len__(self) -> int:
        return len(self._sessions) + len(self._users)

    def add(self, revocation: Revocation) -> None:
        if revocation.session_id is not None:
            self.revoke_session(revocation.session_id, revocation.expires_at)
        if revocation.user_id is not None:
            self.add_user_cutoff(
                revocation.user_id, revocation.created_at, revocation.expires_at
            )

    def add_all(self, revocations: Iterable[Revocation]) -> None:
        for revocation in revocations:
            self.add(revocation)

    def revoke_session(self, session_id: str, expires_at: datetime) -> None:
        expires = expires_at.timestamp()
        known = self._sessions.get(session_id)
        if known is not None and known >= expires:
            return
        self._sessions[session_id] = expires
        heapq.heappush(self._expiries, (expires, False, session_id))

    def add_user_cutoff(
        self, user_id: str, cutoff: datetime, expires_at: datetime
    ) -> None:
        # Cutoffs only move forward: a later one kills every token an earlier one did.
        new_cutoff, expires = cutoff.timestamp(), expires_at.timestamp()
        known = self._users.get(user_id)
        if known is not None:
            if known[0] >= new_cutoff and known[1] >= expires:
                return
            new_cutoff, expires = max(new_cutoff, known[0]), max(expires, known[1])
        self._users[user_id] = (new_cutoff, expires)
        heapq.heappush(self._expiries, (expires, True, user_id))

    def first_clear_second(self, user_id: str) -> int:
        """The earliest `iat` that no user-wide revocation of this user kills."""
        user = self._users.get(user_id)
        return int(user[0]) + 1 if user is not None else 0

    def check(self, session_id: str, user_id: str, issued_at: int) -> None:
        """Raise `TokenRevoked` if the token's session or user was revoked."""
        if session_id in self._sessions:
            raise TokenRevoked()
        user = self._users.get(user_id)
        if user is not None and issued_at <= user[0]:
            raise TokenRevoked()

    def is_session_revoked(self, session_id: str) -> bool:
        return session_id in self._sessions

    def forget_expired(self, now: datetime) -> int:
        """Drop the entries whose tokens have all expired; return how many went."""
        moment = now.timestamp()
        expiries = self._expiries
        forgotten = 0
        while expiries and expiries[0][0] <= moment:
            expires, is_user, key = heapq.heappop(expiries)
            if is_user:
                user = self._users.get(key)
                # A later revocation of the same user left its own heap entry.
                if user is not None and user[1] == expires:
                    del self._users[key]
                    forgotten += 1
            elif self._sessions.get(key) == expires:
                del self._sessions[key]
                forgotten += 1
        return forgotten


class DatabaseFeed:
    """Polls the revocations table so that every instance learns within a second."""

    def __init__(
        self, store: Store, view: RevocationView, clock: Clock, interval: float
    ) -> None:
        self._store = store
        self._view = view
        self._clock = clock
        self._interval = interval
        self._since: datetime | None = None

    async def load(self) -> None:
        """Read every unexpired revocation; run once before serving."""
        now = self._clock.now()
        self._view.add_all(
            await self._store.revocations_since(
                datetime.min.replace(tzinfo=now.tzinfo), now
            )
        )
        self._since = now

    async def poll_once(self) -> None:
        now = self._clock.now()
        since = (self._since or now) - FEED_OVERLAP
        self._view.add_all(await self._store.revocations_since(since, now))
        self._since = now
        self._view.forget_expired(now)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.poll_once()
            except StorageUnavailable:
                logger.warning("revocation feed: database unavailable; retrying")
            except Exception:  # keep the feed alive whatever one poll hits
                logger.exception("revocation feed: poll failed")


async def cancel(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
