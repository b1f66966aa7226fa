"""The refresh-token rotation written straight to the driver (aiosqlite or asyncpg).

Rotation is the busiest write, and on it SQLAlchemy Core's statement building and
result handling cost several times the database work. Here the same statements run in
the same single transaction, in each driver's own SQL, on a connection from the same
pool: the spend comes first and takes the write lock, the session is read and checked,
and only then is the next token stored, so of two concurrent rotations one wins.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from tokenward.store import tables as t
from tokenward.store.base import SessionCheck
from tokenward.store.records import RefreshLookup, Session

SESSION_COLUMNS = (
    "id", "user_id", "created_at", "last_used_at", "expires_at", "ip", "user_agent",
    "device_name", "scope", "revoked_at", "revoked_reason",
)  # fmt: skip
_DATETIME_COLUMNS = frozenset(
    column.name for column in t.sessions.columns if isinstance(column.type, t.UTCDateTime)
)
# SQLAlchemy's SQLite DATETIME text format: rows written either way compare alike.
_SQLITE_STAMP = "%Y-%m-%d %H:%M:%S.%f"
DRIVER_ERRORS = (sqlite3.Error, asyncpg.PostgresError, asyncpg.InterfaceError, OSError)

# In SQLite's `?` style; `_numbered` gives asyncpg's `$1, $2, ...`.
_SQLITE = {
    "spend": "UPDATE refresh_tokens SET spent_at = ? "
    "WHERE token_hash = ? AND spent_at IS NULL RETURNING session_id",
    "session": "SELECT id, user_id, created_at, last_used_at, expires_at, ip, "
    "user_agent, device_name, scope, revoked_at, revoked_reason "
    "FROM sessions WHERE id = ?",
    "store": "INSERT INTO refresh_tokens (token_hash, session_id, issued_at) "
    "VALUES (?, ?, ?)",
    "touch": "UPDATE sessions SET last_used_at = ?, ip = COALESCE(?, ip), "
    "user_agent = COALESCE(?, user_agent) WHERE id = ?",
    "spent": "SELECT session_id, spent_at FROM refresh_tokens WHERE token_hash = ?",
}


def _numbered(sql: str) -> str:
    parts = sql.split("?")
    return "".join(f"{part}${i}" for i, part in enumerate(parts[:-1], 1)) + parts[-1]


_POSTGRES = {name: _numbered(sql) for name, sql in _SQLITE.items()}


def _touched(
    session: Session, now: datetime, ip: str | None, agent: str | None
) -> Session:
    return replace(
        session,
        last_used_at=now,
        ip=ip if ip is not None else session.ip,
        user_agent=agent if agent is not None else session.user_agent,
    )


async def rotate_postgres(
    conn: Any,
    old_hash: bytes,
    new_hash: bytes,
    now: datetime,
    check: SessionCheck,
    ip: str | None,
    user_agent: str | None,
) -> RefreshLookup:
    """The rotation on an asyncpg connection; `check` raising rolls it all back."""
    async with conn.transaction():
        session_id = await conn.fetchval(_POSTGRES["spend"], now, old_hash)
        if session_id is None:
            row = await conn.fetchrow(_POSTGRES["spent"], old_hash)
            if row is None:
                return RefreshLookup(session=None)
            session = await _postgres_session(conn, row["session_id"])
            return RefreshLookup(session=session, spent_at=row["spent_at"])

        session = await _postgres_session(conn, session_id)
        check(session)
        await conn.execute(_POSTGRES["store"], new_hash, session_id, now)
        await conn.execute(_POSTGRES["touch"], now, ip, user_agent, session_id)
    return RefreshLookup(session=_touched(session, now, ip, user_agent), rotated=True)


async def _postgres_session(conn: Any, session_id: str) -> Session:
    row = await conn.fetchrow(_POSTGRES["session"], session_id)
    values = dict(row.items())
    for name in _DATETIME_COLUMNS:
        if values[name] is not None:
            values[name] = values[name].astimezone(UTC)
    return Session(**values)


async def rotate_sqlite(
    conn: Any,
    old_hash: bytes,
    new_hash: bytes,
    now: datetime,
    check: SessionCheck,
    ip: str | None,
    user_agent: str | None,
) -> RefreshLookup:
    """The rotation on an aiosqlite connection; the first UPDATE opens the transaction."""
    stamp = _sqlite_stamp(now)
    try:
        rows = await conn.execute_fetchall(_SQLITE["spend"], (stamp, old_hash))
        if not rows:
            result = await _sqlite_lookup_spent(conn, old_hash)
            await conn.rollback()
            return result

        session_id = rows[0][0]
        session = await _sqlite_session(conn, session_id)
        check(session)
        await conn.execute(_SQLITE["store"], (new_hash, session_id, stamp))
        await conn.execute(_SQLITE["touch"], (stamp, ip, user_agent, session_id))
        await conn.commit()
    except BaseException:
        await conn.rollback()
        raise
    return RefreshLookup(session=_touched(session, now, ip, user_agent), rotated=True)


async def _sqlite_lookup_spent(conn: Any, token_hash: bytes) -> RefreshLookup:
    rows = await conn.execute_fetchall(_SQLITE["spent"], (token_hash,))
    if not rows:
        return RefreshLookup(session=None)
    session_id, spent_at = rows[0]
    session = await _sqlite_session(conn, session_id)
    return RefreshLookup(session=session, spent_at=_sqlite_datetime(spent_at))


async def _sqlite_session(conn: Any, session_id: str) -> Session:
    (row,) = await conn.execute_fetchall(_SQLITE["session"], (session_id,))
    values = dict(zip(SESSION_COLUMNS, row, strict=True))
    for name in _DATETIME_COLUMNS:
        values[name] = _sqlite_datetime(values[name])
    return Session(**values)


def _sqlite_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_SQLITE_STAMP)


def _sqlite_datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value).replace(tzinfo=UTC)
