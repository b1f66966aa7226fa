"""The Store on SQLAlchemy 2 async: SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, event, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tokenward.errors import EmailTaken, StorageUnavailable
from tokenward.store import tables as t
from tokenward.store.base import KeyConflict, SessionCheck
from tokenward.store.records import (
    PurgeCounts,
    RefreshLookup,
    Revocation,
    Session,
    SigningKeyRecord,
    User,
)
from tokenward.store.recovery import SqlRecovery
from tokenward.store.rotation import DRIVER_ERRORS, rotate_postgres, rotate_sqlite

SQLITE_BUSY_TIMEOUT_MS = 10_000
_DRIVER_ROTATIONS = {"aiosqlite": rotate_sqlite, "asyncpg": rotate_postgres}


def create_engine(url: str) -> AsyncEngine:
    """An engine tuned per backend: SQLite gets WAL, a busy timeout and foreign keys.

    Statement parameters hold password hashes, so they are kept out of SQLAlchemy's
    log and error messages, and aiosqlite's DEBUG log of every call is silenced.
    """
    if url.startswith("sqlite"):
        aiosqlite_log = logging.getLogger("aiosqlite")
        aiosqlite_log.setLevel(max(aiosqlite_log.getEffectiveLevel(), logging.INFO))
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, hide_parameters=True
        )
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    # No pre-ping: with asyncpg it costs three round trips on every checkout. A
    # connection that died with the server fails its one request (503) and makes
    # the pool drop every connection older than it.
    return create_async_engine(
        url, pool_size=10, max_overflow=10, pool_timeout=10, hide_parameters=True
    )


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class SqlStore(SqlRecovery):
    def __init__(self, url: str, engine: AsyncEngine | None = None) -> None:
        self.url = url
        self.engine = engine or create_engine(url)
        # SQLite has one writer at a time, and a writer that finds the lock taken
        # sleeps in steps of milliseconds: this process's rotations queue here
        # instead, and each starts the moment the previous one ends.
        self._writer_turn = (
            asyncio.Lock() if self.engine.dialect.name == "sqlite" else None
        )

    async def connect(self) -> None:
        await self.ping()

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        with _storage_errors():
            async with self.engine.connect() as conn:
                yield conn

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncConnection]:
        with _storage_errors():
            async with self.engine.begin() as conn:
                yield conn

    async def ping(self) -> None:
        async with self._read() as conn:
            await conn.execute(select(1))

    # Users

    async def add_user(self, user: User) -> None:
        try:
            async with self._write() as conn:
                await conn.execute(insert(t.users).values(**_user_values(user)))
        except IntegrityError as exc:
            raise EmailTaken() from exc

    async def get_user(self, user_id: str) -> User | None:
        async with self._read() as conn:
            row = (
                await conn.execute(select(t.users).where(t.users.c.id == user_id))
            ).first()
        return _user(row) if row else None

    async def get_user_by_email(self, email_key: str) -> User | None:
        query = select(t.users).where(t.users.c.email_key == email_key)
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return _user(row) if row else None

    async def list_users(self, limit: int = 100, offset: int = 0) -> Sequence[User]:
        query = select(t.users).order_by(t.users.c.created_at).limit(limit).offset(offset)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_user(row) for row in rows]

    async def set_password_hash(
        self, user_id: str, password_hash: str, changed_at: datetime | None
    ) -> None:
        values: dict[str, Any] = {"password_hash": password_hash}
        if changed_at is not None:
            values["password_changed_at"] = changed_at
        async with self._write() as conn:
            await conn.execute(
                update(t.users).where(t.users.c.id == user_id).values(values)
            )

    async def set_user_active(self, user_id: str, active: bool) -> bool:
        query = update(t.users).where(t.users.c.id == user_id).values(is_active=active)
        async with self._write() as conn:
            result = await conn.execute(query)
        return result.rowcount == 1

    # Sessions and refresh tokens

    async def add_session(self, session: Session, refresh_hash: bytes) -> None:
        async with self._write() as conn:
            await conn.execute(insert(t.sessions).values(**_fields(session)))
            await conn.execute(
                insert(t.refresh_tokens).values(
                    token_hash=refresh_hash,
                    session_id=session.id,
                    issued_at=session.created_at,
                )
            )

    async def get_session(self, session_id: str) -> Session | None:
        query = select(t.sessions).where(t.sessions.c.id == session_id)
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return _session(row) if row else None

    async def list_sessions(
        self, now: datetime, user_id: str | None = None
    ) -> Sequence[Session]:
        query = select(t.sessions).where(
            t.sessions.c.revoked_at.is_(None), t.sessions.c.expires_at > now
        )
        if user_id is not None:
            query = query.where(t.sessions.c.user_id == user_id)
        query = query.order_by(t.sessions.c.last_used_at.desc())
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_session(row) for row in rows]

    async def rotate_refresh_token(
        self,
        old_hash: bytes,
        new_hash: bytes,
        now: datetime,
        check: SessionCheck,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> RefreshLookup:
        # Settings accept only these two drivers, so every store has its rotation.
        rotate = _DRIVER_ROTATIONS[self.engine.dialect.driver]
        async with self._writer_turn or contextlib.nullcontext():
            with _storage_errors():
                async with self.engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    try:
                        return await rotate(
                            raw.driver_connection, old_hash, new_hash, now, check, ip,
                            user_agent,
                        )  # fmt: skip
                    except DRIVER_ERRORS as exc:
                        await conn.invalidate()
                        raise StorageUnavailable() from exc

    async def find_refresh_token(self, token_hash: bytes) -> RefreshLookup:
        async with self._read() as conn:
            return await self._lookup_spent(conn, token_hash)

    async def _lookup_spent(
        self, conn: AsyncConnection, token_hash: bytes
    ) -> RefreshLookup:
        query = select(t.refresh_tokens.c.session_id, t.refresh_tokens.c.spent_at).where(
            t.refresh_tokens.c.token_hash == token_hash
        )
        row = (await conn.execute(query)).first()
        if row is None:
            return RefreshLookup(session=None)
        session = await self._session_in(conn, row.session_id)
        return RefreshLookup(session=session, spent_at=row.spent_at)

    async def _session_in(self, conn: AsyncConnection, session_id: str) -> Session:
        query = select(t.sessions).where(t.sessions.c.id == session_id)
        return _session((await conn.execute(query)).one())

    async def revoke_session(
        self, session_id: str, reason: str, now: datetime, revocation_expires: datetime
    ) -> bool:
        async with self._write() as conn:
            revoked = await self._revoke(
                conn, [session_id], reason, now, revocation_expires
            )
        return bool(revoked)

    async def revoke_user_sessions(
        self,
        user_id: str,
        reason: str,
        now: datetime,
        revocation_expires: datetime,
        keep_session_id: str | None = None,
        whole_user: bool = False,
    ) -> list[str]:
        query = select(t.sessions.c.id).where(
            t.sessions.c.user_id == user_id,
            t.sessions.c.revoked_at.is_(None),
            t.sessions.c.id != (keep_session_id or ""),
        )
        async with self._write() as conn:
            ids = list((await conn.execute(query)).scalars())
            revoked = await self._revoke(conn, ids, reason, now, revocation_expires)
            if whole_user:
                await conn.execute(
                    insert(t.revocations).values(
                        user_id=user_id, created_at=now, expires_at=revocation_expires
                    )
                )
        return revoked

    async def _revoke(
        self,
        conn: AsyncConnection,
        session_ids: list[str],
        reason: str,
        now: datetime,
        expires: datetime,
    ) -> list[str]:
        if not session_ids:
            return []
        query = (
            update(t.sessions)
            .where(t.sessions.c.id.in_(session_ids), t.sessions.c.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason)
            .returning(t.sessions.c.id)
        )
        revoked = list((await conn.execute(query)).scalars())
        if revoked:
            rows = [
                {"session_id": sid, "created_at": now, "expires_at": expires}
                for sid in revoked
            ]
            await conn.execute(insert(t.revocations), rows)
        return revoked

    # Revocation feed

    async def revocations_since(
        self, since: datetime, now: datetime
    ) -> Sequence[Revocation]:
        query = select(t.revocations).where(
            t.revocations.c.created_at >= since, t.revocations.c.expires_at > now
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [Revocation(**row._mapping) for row in rows]

    # Signing keys

    async def list_signing_keys(self) -> Sequence[SigningKeyRecord]:
        query = select(t.signing_keys).order_by(t.signing_keys.c.generation)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [SigningKeyRecord(**row._mapping) for row in rows]

    async def add_signing_key(self, key: SigningKeyRecord) -> None:
        try:
            async with self._write() as conn:
                await conn.execute(insert(t.signing_keys).values(**_fields(key)))
        except IntegrityError as exc:
            raise KeyConflict(key.generation) from exc

    async def set_key_retirement(self, kid: str, retire_after: datetime) -> None:
        query = (
            update(t.signing_keys)
            .where(t.signing_keys.c.kid == kid)
            .values(retire_after=retire_after)
        )
        async with self._write() as conn:
            await conn.execute(query)

    # Housekeeping

    async def purge(self, now: datetime, refresh_idle_ttl: int) -> PurgeCounts:
        idle_cutoff = now - timedelta(seconds=refresh_idle_ttl)
        dead_sessions = or_(
            t.sessions.c.expires_at <= now,
            t.sessions.c.last_used_at <= idle_cutoff,
            t.sessions.c.revoked_at.is_not(None),
        )
        newest_generation = select(
            func.max(t.signing_keys.c.generation)
        ).scalar_subquery()
        async with self._write() as conn:
            dead_ids = select(t.sessions.c.id).where(dead_sessions)
            tokens = await conn.execute(
                delete(t.refresh_tokens).where(
                    t.refresh_tokens.c.session_id.in_(dead_ids)
                )
            )
            sessions = await conn.execute(delete(t.sessions).where(dead_sessions))
            revocations = await conn.execute(
                delete(t.revocations).where(t.revocations.c.expires_at <= now)
            )
            keys = await conn.execute(
                delete(t.signing_keys).where(
                    and_(
                        t.signing_keys.c.retire_after <= now,
                        t.signing_keys.c.generation < newest_generation,
                    )
                )
            )
        return PurgeCounts(
            sessions=sessions.rowcount,
            refresh_tokens=tokens.rowcount,
            revocations=revocations.rowcount,
            signing_keys=keys.rowcount,
            extra={"password_resets": await self.purge_password_resets(now)},
        )


@contextmanager
def _storage_errors() -> Iterator[None]:
    """Turn driver and connection failures into `StorageUnavailable`.

    Integrity errors pass through: they are answers about the data, not outages.
    """
    try:
        yield
    except IntegrityError:
        raise
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise StorageUnavailable() from exc


def _fields(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}


def _user_values(user: User) -> dict[str, Any]:
    values = _fields(user)
    values["scopes"] = " ".join(user.scopes)
    return values


def _user(row: Row[Any]) -> User:
    values = dict(row._mapping)
    values["scopes"] = tuple(values["scopes"].split())
    return User(**values)


def _session(row: Row[Any]) -> Session:
    return Session(**row._mapping)
