"""An in-memory Store: the same Protocol, for unit tests and quick experiments.

Nothing here awaits between reading and writing, so each method is atomic under asyncio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import count

from tokenward.errors import EmailTaken
from tokenward.store.base import KeyConflict, SessionCheck
from tokenward.store.records import (
    PurgeCounts,
    RefreshLookup,
    Revocation,
    Session,
    SigningKeyRecord,
    User,
)
from tokenward.store.recovery import MemoryRecovery


class _RefreshToken:
    __slots__ = ("session_id", "spent_at")

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.spent_at: datetime | None = None


class MemoryStore(MemoryRecovery):
    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, User] = {}
        self.sessions: dict[str, Session] = {}
        self.refresh_tokens: dict[bytes, _RefreshToken] = {}
        self.revocations: list[Revocation] = []
        self.keys: dict[str, SigningKeyRecord] = {}
        self._revocation_ids = count(1)

    async def connect(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    # Users

    async def add_user(self, user: User) -> None:
        if any(u.email_key == user.email_key for u in self.users.values()):
            raise EmailTaken()
        self.users[user.id] = user

    async def get_user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    async def get_user_by_email(self, email_key: str) -> User | None:
        return next((u for u in self.users.values() if u.email_key == email_key), None)

    async def list_users(self, limit: int = 100, offset: int = 0) -> Sequence[User]:
        ordered = sorted(self.users.values(), key=lambda u: u.created_at)
        return ordered[offset : offset + limit]

    async def set_password_hash(
        self, user_id: str, password_hash: str, changed_at: datetime | None
    ) -> None:
        user = self.users[user_id]
        changed = changed_at or user.password_changed_at
        self.users[user_id] = replace(
            user, password_hash=password_hash, password_changed_at=changed
        )

    async def set_user_active(self, user_id: str, active: bool) -> bool:
        if user_id not in self.users:
            return False
        self.users[user_id] = replace(self.users[user_id], is_active=active)
        return True

    # Sessions and refresh tokens

    async def add_session(self, session: Session, refresh_hash: bytes) -> None:
        self.sessions[session.id] = session
        self.refresh_tokens[refresh_hash] = _RefreshToken(session.id)

    async def get_session(self, session_id: str) -> Session | None:
        return self.sessions.get(session_id)

    async def list_sessions(
        self, now: datetime, user_id: str | None = None
    ) -> Sequence[Session]:
        live = [
            s
            for s in self.sessions.values()
            if s.revoked_at is None
            and s.expires_at > now
            and (user_id is None or s.user_id == user_id)
        ]
        return sorted(live, key=lambda s: s.last_used_at, reverse=True)

    async def rotate_refresh_token(
        self,
        old_hash: bytes,
        new_hash: bytes,
        now: datetime,
        check: SessionCheck,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> RefreshLookup:
        token = self.refresh_tokens.get(old_hash)
        if token is None:
            return RefreshLookup(session=None)
        session = self.sessions[token.session_id]
        if token.spent_at is not None:
            return RefreshLookup(session=session, spent_at=token.spent_at)

        check(session)
        token.spent_at = now
        self.refresh_tokens[new_hash] = _RefreshToken(session.id)
        session = replace(
            session,
            last_used_at=now,
            ip=ip if ip is not None else session.ip,
            user_agent=user_agent if user_agent is not None else session.user_agent,
        )
        self.sessions[session.id] = session
        return RefreshLookup(session=session, rotated=True)

    async def find_refresh_token(self, token_hash: bytes) -> RefreshLookup:
        token = self.refresh_tokens.get(token_hash)
        if token is None:
            return RefreshLookup(session=None)
        return RefreshLookup(self.sessions[token.session_id], spent_at=token.spent_at)

    async def revoke_session(
        self, session_id: str, reason: str, now: datetime, revocation_expires: datetime
    ) -> bool:
        return bool(self._revoke([session_id], reason, now, revocation_expires))

    async def revoke_user_sessions(
        self,
        user_id: str,
        reason: str,
        now: datetime,
        revocation_expires: datetime,
        keep_session_id: str | None = None,
        whole_user: bool = False,
    ) -> list[str]:
        ids = [
            s.id
            for s in self.sessions.values()
            if s.user_id == user_id and s.id != keep_session_id
        ]
        revoked = self._revoke(ids, reason, now, revocation_expires)
        if whole_user:
            self.revocations.append(
                Revocation(
                    next(self._revocation_ids), now, revocation_expires, None, user_id
                )
            )
        return revoked

    def _revoke(
        self, ids: list[str], reason: str, now: datetime, expires: datetime
    ) -> list[str]:
        revoked = []
        for session_id in ids:
            session = self.sessions.get(session_id)
            if session is None or session.revoked_at is not None:
                continue
            self.sessions[session_id] = replace(
                session, revoked_at=now, revoked_reason=reason
            )
            self.revocations.append(
                Revocation(next(self._revocation_ids), now, expires, session_id, None)
            )
            revoked.append(session_id)
        return revoked

    # Revocation feed

    async def revocations_since(
        self, since: datetime, now: datetime
    ) -> Sequence[Revocation]:
        return [
            r for r in self.revocations if r.created_at >= since and r.expires_at > now
        ]

    # Signing keys

    async def list_signing_keys(self) -> Sequence[SigningKeyRecord]:
        return sorted(self.keys.values(), key=lambda k: k.generation)

    async def add_signing_key(self, key: SigningKeyRecord) -> None:
        if any(k.generation == key.generation for k in self.keys.values()):
            raise KeyConflict(key.generation)
        self.keys[key.kid] = key

    async def set_key_retirement(self, kid: str, retire_after: datetime) -> None:
        self.keys[kid] = replace(self.keys[kid], retire_after=retire_after)

    # Housekeeping

    async def purge(self, now: datetime, refresh_idle_ttl: int) -> PurgeCounts:
        idle_cutoff = now - timedelta(seconds=refresh_idle_ttl)
        dead = {
            s.id
            for s in self.sessions.values()
            if s.expires_at <= now or s.last_used_at <= idle_cutoff or s.revoked_at
        }
        tokens = [h for h, tok in self.refresh_tokens.items() if tok.session_id in dead]
        for token_hash in tokens:
            del self.refresh_tokens[token_hash]
        for session_id in dead:
            del self.sessions[session_id]

        before = len(self.revocations)
        self.revocations = [r for r in self.revocations if r.expires_at > now]

        newest = max((k.generation for k in self.keys.values()), default=0)
        retired = [
            k.kid
            for k in self.keys.values()
            if k.retire_after and k.retire_after <= now and k.generation < newest
        ]
        for kid in retired:
            del self.keys[kid]
        return PurgeCounts(
            sessions=len(dead),
            refresh_tokens=len(tokens),
            revocations=before - len(self.revocations),
            signing_keys=len(retired),
            extra={"password_resets": await self.purge_password_resets(now)},
        )
