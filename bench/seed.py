"""Bulk rows for the scale benchmarks: users, sessions, refresh tokens, revocations.

Rows go in with bulk SQL (executemany on SQLite, COPY on PostgreSQL), never through
the API, and in the formats tokenward itself writes, so the server reads them as its
own. A few sessions get refresh tokens whose raw value is returned, to drive load.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

# Any well-formed Argon2id hash: seeded users never log in.
PASSWORD_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
    "9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpg"
)
BATCH = 20_000


@dataclass
class Seeded:
    """What was stored: the user ids, and raw refresh tokens of the driven sessions."""

    user_ids: list[str] = field(default_factory=list)
    session_ids: list[str] = field(default_factory=list)
    refresh_tokens: list[str] = field(default_factory=list)


def _sqlite_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _rows(
    users: int, sessions: int, driven: int, now: datetime
) -> tuple[Seeded, list[tuple], Iterator[tuple], Iterator[tuple]]:
    """User rows, and generators of session and token rows (memory stays flat)."""
    seeded = Seeded(user_ids=[str(uuid.uuid4()) for _ in range(users)])
    user_rows = [
        (uid, f"seed-{i}@example.com", f"seed-{i}@example.com", PASSWORD_HASH,
         True, True, False, "", now, now)
        for i, uid in enumerate(seeded.user_ids)
    ]  # fmt: skip
    session_ids = [str(uuid.uuid4()) for _ in range(sessions)]
    seeded.session_ids = session_ids
    expires = now + timedelta(days=30)

    def session_rows() -> Iterator[tuple]:
        for i, sid in enumerate(session_ids):
            yield (sid, seeded.user_ids[i % users], now, now, expires, "192.0.2.1",
                   "seed", None, "", None, None)  # fmt: skip

    def token_rows() -> Iterator[tuple]:
        for i, sid in enumerate(session_ids):
            if i < driven:
                raw = secrets.token_urlsafe(32)
                seeded.refresh_tokens.append(raw)
                digest = hashlib.sha256(raw.encode()).digest()
            else:
                digest = os.urandom(32)
            yield (digest, sid, now, None)

    return seeded, user_rows, session_rows(), token_rows()


def _batches(rows: Iterator[tuple]) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def seed_sqlite(path: str, users: int, sessions: int, driven: int) -> Seeded:
    """Fill a migrated SQLite database in one transaction."""
    now = datetime.now(UTC)
    seeded, user_rows, session_rows, token_rows = _rows(users, sessions, driven, now)
    stamp = _sqlite_stamp(now)

    def dated(row: tuple) -> tuple:
        return tuple(_sqlite_stamp(v) if isinstance(v, datetime) else v for v in row)

    conn = sqlite3.connect(path, timeout=60)
    try:
        conn.executemany(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [dated(r) for r in user_rows],
        )
        for batch in _batches(session_rows):
            conn.executemany(
                "INSERT INTO sessions (id, user_id, created_at, last_used_at, "
                "expires_at, ip, user_agent, device_name, scope, revoked_at, "
                "revoked_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [dated(r) for r in batch],
            )
        for batch in _batches(token_rows):
            conn.executemany(
                "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, "
                "spent_at) VALUES (?, ?, ?, ?)",
                [(h, s, stamp, None) for h, s, _, _ in batch],
            )
        conn.commit()
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return seeded


async def seed_postgres(url: str, users: int, sessions: int, driven: int) -> Seeded:
    """Fill a migrated PostgreSQL database with COPY."""
    now = datetime.now(UTC)
    seeded, user_rows, session_rows, token_rows = _rows(users, sessions, driven, now)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.copy_records_to_table("users", records=user_rows)
        for batch in _batches(session_rows):
            await conn.copy_records_to_table("sessions", records=batch)
        for batch in _batches(token_rows):
            await conn.copy_records_to_table(
                "refresh_tokens",
                records=batch,
                columns=["token_hash", "session_id", "issued_at", "spent_at"],
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return seeded


def revoke_sqlite(path: str, session_ids: list[str], lifetime: timedelta) -> None:
    """Revoke sessions as tokenward does: mark them, and record each for the feed."""
    conn = sqlite3.connect(path, timeout=60)
    try:
        for batch in _batches(iter([(sid,) for sid in session_ids])):
            now = datetime.now(UTC)
            stamp, expires = _sqlite_stamp(now), _sqlite_stamp(now + lifetime)
            conn.executemany(
                "UPDATE sessions SET revoked_at = ?, revoked_reason = 'bench' "
                "WHERE id = ?",
                [(stamp, sid) for (sid,) in batch],
            )
            conn.executemany(
                "INSERT INTO revocations (session_id, created_at, expires_at) "
                "VALUES (?, ?, ?)",
                [(sid, stamp, expires) for (sid,) in batch],
            )
            conn.commit()
    finally:
        conn.close()
