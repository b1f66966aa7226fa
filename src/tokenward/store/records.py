"""Plain records that cross the storage boundary; no ORM objects leak out of `store/`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    email_key: str
    password_hash: str
    created_at: datetime
    password_changed_at: datetime
    is_active: bool = True
    is_verified: bool = False
    is_admin: bool = False
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Session:
    """One login on one device; its refresh tokens live in their own table."""

    id: str
    user_id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    ip: str | None = None
    user_agent: str | None = None
    device_name: str | None = None
    scope: str = ""
    revoked_at: datetime | None = None
    revoked_reason: str | None = None


@dataclass(frozen=True, slots=True)
class SigningKeyRecord:
    kid: str
    alg: str
    generation: int
    private_key: bytes
    public_jwk: str
    created_at: datetime
    retire_after: datetime | None = None


@dataclass(frozen=True, slots=True)
class Revocation:
    """Tokens of this session, or of this user issued up to `created_at`, are dead."""

    id: int
    created_at: datetime
    expires_at: datetime
    session_id: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class RefreshLookup:
    """What became of a presented refresh token in one atomic rotation attempt."""

    session: Session | None
    rotated: bool = False
    spent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PasswordReset:
    """A reset token that was just spent: whose it was and when it was issued."""

    user_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PurgeCounts:
    sessions: int = 0
    refresh_tokens: int = 0
    revocations: int = 0
    signing_keys: int = 0
    extra: dict[str, int] = field(default_factory=dict)
