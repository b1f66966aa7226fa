"""Login sessions and their refresh tokens: open, rotate, detect reuse, revoke.

A refresh token is 256 random bits; only its SHA-256 is stored. Each refresh spends the
presented token and stores the next in one transaction, so of two concurrent refreshes
of one token exactly one wins. A spent token presented again after the reuse grace means
it was copied: the whole session is revoked.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from tokenward.clock import Clock
from tokenward.errors import (
    InvalidToken,
    NotFound,
    RefreshReused,
    RefreshRotated,
    TokenExpired,
    TokenRevoked,
)
from tokenward.events import log_event
from tokenward.revocation import RevocationView
from tokenward.store.base import SessionCheck, Store
from tokenward.store.records import Session

_REFRESH_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
logger = logging.getLogger("tokenward.sessions")


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request came from, as far as the transport could tell."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle_ttl: int
    max_ttl: int
    reuse_grace: int
    access_ttl: int
    leeway: int

    @property
    def revocation_lifetime(self) -> timedelta:
        """How long a revocation must be remembered: until its last token expired."""
        return timedelta(seconds=self.access_ttl + self.leeway)


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def _check_format(refresh_token: str) -> None:
    if not isinstance(refresh_token, str) or not _REFRESH_TOKEN.fullmatch(refresh_token):
        raise InvalidToken("The refresh token is malformed.")


def hash_refresh_token(token: str) -> bytes:
    # Refresh tokens carry 256 random bits, so a fast hash is as good as a slow one.
    return hashlib.sha256(token.encode()).digest()


class SessionService:
    def __init__(
        self,
        store: Store,
        policy: SessionPolicy,
        clock: Clock,
        revocations: RevocationView,
    ) -> None:
        self.store = store
        self.policy = policy
        self.clock = clock
        self.revocations = revocations

    def expires_at(self, session: Session) -> datetime:
        """When the session ends if unused: the sooner of idle and absolute expiry."""
        idle_end = session.last_used_at + timedelta(seconds=self.policy.idle_ttl)
        return min(idle_end, session.expires_at)

    async def open(
        self,
        user_id: str,
        client: ClientInfo,
        device_name: str | None = None,
        scope: str = "",
    ) -> tuple[Session, str]:
        now = self.clock.now()
        session = Session(
            id=str(uuid.uuid4()),
            user_id=user_id,
            created_at=now,
            last_used_at=now,
            expires_at=now + timedelta(seconds=self.policy.max_ttl),
            ip=client.ip,
            user_agent=client.user_agent,
            device_name=device_name,
            scope=scope,
        )
        refresh_token = new_refresh_token()
        await self.store.add_session(session, hash_refresh_token(refresh_token))
        return session, refresh_token

    async def rotate(
        self,
        refresh_token: str,
        client: ClientInfo,
        guard: SessionCheck | None = None,
    ) -> tuple[Session, str]:
        """Spend `refresh_token` and return the session with its next refresh token.

        `guard`, when given, runs first on the token's session and may refuse it; then
        nothing is written, and a spent token is not taken for a reused one.
        """
        _check_format(refresh_token)
        now = self.clock.now()

        def check(session: Session) -> None:
            if guard is not None:
                guard(session)
            self._check_usable(session, now)

        next_token = new_refresh_token()

        lookup = await self.store.rotate_refresh_token(
            hash_refresh_token(refresh_token),
            hash_refresh_token(next_token),
            now,
            check=check,
            ip=client.ip,
            user_agent=client.user_agent,
        )
        if lookup.session is None:
            raise InvalidToken("The refresh token is unknown.")
        if lookup.rotated:
            return lookup.session, next_token

        session, spent_at = lookup.session, lookup.spent_at
        check(session)
        assert spent_at is not None
        if now - spent_at <= timedelta(seconds=self.policy.reuse_grace):
            raise RefreshRotated()
        await self.revoke(session.id, "refresh_reused")
        log_event(
            "refresh_reuse_detected",
            logger=logger,
            user_id=session.user_id,
            session_id=session.id,
            ip=client.ip,
        )
        raise RefreshReused()

    def _check_usable(self, session: Session, now: datetime) -> None:
        if session.revoked_at is not None:
            raise TokenRevoked("The session has been revoked.")
        if self.expires_at(session) <= now:
            raise TokenExpired("The session has expired.")

    async def revoke_by_refresh_token(self, refresh_token: str, reason: str) -> Session:
        """Revoke the session a live refresh token belongs to; raise if it has none."""
        _check_format(refresh_token)
        lookup = await self.store.find_refresh_token(hash_refresh_token(refresh_token))
        session = lookup.session
        if session is None or lookup.spent_at is not None:
            raise InvalidToken("The refresh token is unknown or spent.")
        self._check_usable(session, self.clock.now())
        await self.revoke(session.id, reason)
        return session

    async def get_owned(self, session_id: str, user_id: str) -> Session:
        session = await self.store.get_session(session_id)
        if (
            session is None
            or session.user_id != user_id
            or session.revoked_at is not None
        ):
            raise NotFound("No such session.")
        return session

    async def active(self, user_id: str) -> list[Session]:
        now = self.clock.now()
        sessions = await self.store.list_sessions(now, user_id)
        return [s for s in sessions if self.expires_at(s) > now]

    async def revoke(self, session_id: str, reason: str) -> bool:
        now = self.clock.now()
        expires = now + self.policy.revocation_lifetime
        revoked = await self.store.revoke_session(session_id, reason, now, expires)
        # Tell this instance at once; other instances learn it from the feed.
        self.revocations.revoke_session(session_id, expires)
        return revoked

    async def revoke_all(
        self,
        user_id: str,
        reason: str,
        keep_session_id: str | None = None,
        whole_user: bool = False,
    ) -> list[str]:
        now = self.clock.now()
        expires = now + self.policy.revocation_lifetime
        revoked = await self.store.revoke_user_sessions(
            user_id, reason, now, expires, keep_session_id, whole_user
        )
        for session_id in revoked:
            self.revocations.revoke_session(session_id, expires)
        if whole_user:
            self.revocations.add_user_cutoff(user_id, now, expires)
        return revoked
