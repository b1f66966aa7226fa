"""Password reset tokens and server secrets, for the in-memory and SQL stores.

Kept apart from the session and key storage so each store gains them as one mixin.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tokenward.store import tables as t
from tokenward.store.records import PasswordReset


class _MemoryReset:
    __slots__ = ("created_at", "expires_at", "used_at", "user_id")

    def __init__(self, user_id: str, created_at: datetime, expires_at: datetime) -> None:
        self.user_id = user_id
        self.created_at = created_at
        self.expires_at = expires_at
        self.used_at: datetime | None = None


class MemoryRecovery:
    """Reset tokens and secrets in dictionaries; nothing awaits, so each is atomic."""

    def __init__(self) -> None:
        self.password_resets: dict[bytes, _MemoryReset] = {}
        self.secrets: dict[str, bytes] = {}

    async def purge_password_resets(self, now: datetime) -> int:
        dead = [
            token_hash
            for token_hash, reset in self.password_resets.items()
            if reset.used_at is not None or reset.expires_at <= now
        ]
        for token_hash in dead:
            del self.password_resets[token_hash]
        return len(dead)

    async def add_password_reset(
        self, token_hash: bytes, user_id: str, created_at: datetime, expires_at: datetime
    ) -> None:
        self.password_resets[token_hash] = _MemoryReset(user_id, created_at, expires_at)

    async def find_password_reset(
        self, token_hash: bytes, now: datetime
    ) -> PasswordReset | None:
        reset = self.password_resets.get(token_hash)
        if reset is None or reset.used_at is not None or reset.expires_at <= now:
            return None
        return PasswordReset(reset.user_id, reset.created_at)

    async def spend_password_reset(
        self, token_hash: bytes, now: datetime
    ) -> PasswordReset | None:
        reset = self.password_resets.get(token_hash)
        if reset is None or reset.used_at is not None or reset.expires_at <= now:
            return None
        for other in self.password_resets.values():
            if other.user_id == reset.user_id and other.used_at is None:
                other.used_at = now
        return PasswordReset(reset.user_id, reset.created_at)

    async def server_secret(self, name: str, candidate: bytes, now: datetime) -> bytes:
        return self.secrets.setdefault(name, candidate)


class _Connections(Protocol):
    def _read(self) -> AbstractAsyncContextManager[AsyncConnection]: ...

    def _write(self) -> AbstractAsyncContextManager[AsyncConnection]: ...


class SqlRecovery:
    """Reset tokens and secrets in their own tables, through the SqlStore's engine."""

    async def purge_password_resets(self: _Connections, now: datetime) -> int:
        query = delete(t.password_resets).where(
            or_(
                t.password_resets.c.used_at.is_not(None),
                t.password_resets.c.expires_at <= now,
            )
        )
        async with self._write() as conn:
            result = await conn.execute(query)
        return result.rowcount

    async def add_password_reset(
        self: _Connections,
        token_hash: bytes,
        user_id: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        row = {
            "token_hash": token_hash,
            "user_id": user_id,
            "created_at": created_at,
            "expires_at": expires_at,
        }
        async with self._write() as conn:
            await conn.execute(insert(t.password_resets).values(row))

    async def find_password_reset(
        self: _Connections, token_hash: bytes, now: datetime
    ) -> PasswordReset | None:
        query = select(t.password_resets.c.user_id, t.password_resets.c.created_at).where(
            t.password_resets.c.token_hash == token_hash,
            t.password_resets.c.used_at.is_(None),
            t.password_resets.c.expires_at > now,
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return PasswordReset(row.user_id, row.created_at) if row else None

    async def spend_password_reset(
        self: _Connections, token_hash: bytes, now: datetime
    ) -> PasswordReset | None:
        # The conditional UPDATE decides the race: only one caller matches unused.
        spend = (
            update(t.password_resets)
            .where(
                t.password_resets.c.token_hash == token_hash,
                t.password_resets.c.used_at.is_(None),
                t.password_resets.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(t.password_resets.c.user_id, t.password_resets.c.created_at)
        )
        async with self._write() as conn:
            row = (await conn.execute(spend)).first()
            if row is None:
                return None
            await conn.execute(
                update(t.password_resets)
                .where(
                    t.password_resets.c.user_id == row.user_id,
                    t.password_resets.c.used_at.is_(None),
                )
                .values(used_at=now)
            )
        return PasswordReset(row.user_id, row.created_at)

    async def server_secret(
        self: _Connections, name: str, candidate: bytes, now: datetime
    ) -> bytes:
        try:
            async with self._write() as conn:
                await conn.execute(
                    insert(t.server_secrets).values(
                        name=name, value=candidate, created_at=now
                    )
                )
        except IntegrityError:
            pass  # another instance stored it first; read theirs
        query = select(t.server_secrets.c.value).where(t.server_secrets.c.name == name)
        async with self._read() as conn:
            return bytes((await conn.execute(query)).scalar_one())
