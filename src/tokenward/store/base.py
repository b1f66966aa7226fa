"""The storage Protocol every backend implements; the services depend on nothing else."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from tokenward.store.records import (
    PasswordReset,
    PurgeCounts,
    RefreshLookup,
    Revocation,
    Session,
    SigningKeyRecord,
    User,
)

SessionCheck = Callable[[Session], None]


class KeyConflict(Exception):
    """Another writer stored a signing key of the same generation first."""


class Store(Protocol):
    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise `StorageUnavailable` when the database does not answer."""
        ...

    # Users

    async def add_user(self, user: User) -> None:
        """Store a new user; raise `EmailTaken` when `email_key` is already in use."""
        ...

    async def get_user(self, user_id: str) -> User | None: ...

    async def get_user_by_email(self, email_key: str) -> User | None: ...

    async def list_users(self, limit: int = 100, offset: int = 0) -> Sequence[User]: ...

    async def set_password_hash(
        self, user_id: str, password_hash: str, changed_at: datetime | None
    ) -> None:
        """Replace the hash; `changed_at` is None when only the hash format changed."""
        ...

    async def set_user_active(self, user_id: str, active: bool) -> bool: ...

    # Sessions and refresh tokens

    async def add_session(self, session: Session, refresh_hash: bytes) -> None: ...

    async def get_session(self, session_id: str) -> Session | None: ...

    async def list_sessions(
        self, now: datetime, user_id: str | None = None
    ) -> Sequence[Session]:
        """Sessions not revoked and not past their absolute expiry, newest first."""
        ...

    async def rotate_refresh_token(
        self,
        old_hash: bytes,
        new_hash: bytes,
        now: datetime,
        check: SessionCheck,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> RefreshLookup:
        """Spend `old_hash` and store `new_hash` in one transaction.

        Exactly one of any number of concurrent callers with the same `old_hash` gets
        `rotated=True`. `check` runs inside the transaction on the session; if it raises,
        nothing is written and the exception propagates.
        """
        ...

    async def find_refresh_token(self, token_hash: bytes) -> RefreshLookup:
        """The session of a refresh token and when it was spent; nothing is written."""
        ...

    async def revoke_session(
        self, session_id: str, reason: str, now: datetime, revocation_expires: datetime
    ) -> bool:
        """Revoke one live session and record it for the revocation feed."""
        ...

    async def revoke_user_sessions(
        self,
        user_id: str,
        reason: str,
        now: datetime,
        revocation_expires: datetime,
        keep_session_id: str | None = None,
        whole_user: bool = False,
    ) -> list[str]:
        """Revoke every live session of a user (but `keep_session_id`).

        With `whole_user`, also record a user-wide revocation so that every token of
        the user issued until now dies, whatever its session.
        """
        ...

    # Revocation feed

    async def revocations_since(
        self, since: datetime, now: datetime
    ) -> Sequence[Revocation]:
        """Unexpired revocations recorded at or after `since`."""
        ...

    # Signing keys

    async def list_signing_keys(self) -> Sequence[SigningKeyRecord]: ...

    async def add_signing_key(self, key: SigningKeyRecord) -> None:
        """Store a key; raise `KeyConflict` if its generation is taken."""
        ...

    async def set_key_retirement(self, kid: str, retire_after: datetime) -> None: ...

    # Housekeeping

    async def purge(self, now: datetime, refresh_idle_ttl: int) -> PurgeCounts: ...

    # Password resets and server secrets

    async def purge_password_resets(self, now: datetime) -> int:
        """Delete spent and expired reset tokens; return how many."""
        ...

    async def add_password_reset(
        self, token_hash: bytes, user_id: str, created_at: datetime, expires_at: datetime
    ) -> None: ...

    async def find_password_reset(
        self, token_hash: bytes, now: datetime
    ) -> PasswordReset | None:
        """The unused, unexpired reset token's grant, without spending it."""
        ...

    async def spend_password_reset(
        self, token_hash: bytes, now: datetime
    ) -> PasswordReset | None:
        """Spend an unused, unexpired reset token, and every other one of its user.

        Atomic: of concurrent callers with one token, at most one gets it back. None
        when the token is unknown, spent or expired.
        """
        ...

    async def server_secret(self, name: str, candidate: bytes, now: datetime) -> bytes:
        """The secret stored under `name`, storing `candidate` first if there is none.

        Instances starting together all end up with the first value written.
        """
        ...
