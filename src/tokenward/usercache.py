"""Recently read user records, so a protected route that wants the user reads no database
on every request.

An entry lives at most `ttl` seconds (one by default, the same bound the contract sets
for revocations to reach every instance), and this instance drops it at once when it
changes the user itself. Whether a token may be used is never decided here: disabled
users' and revoked sessions' tokens are refused by the revocation view before any user
is looked up.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable

from tokenward.store.base import Store
from tokenward.store.records import User


class UserCache:
    def __init__(
        self,
        store: Store,
        ttl: float = 1.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, User]] = OrderedDict()
        self._invalidations = 0
        self._reading: dict[str, asyncio.Future[User | None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, user_id: str) -> User | None:
        """The user, from memory when read less than `ttl` seconds ago."""
        entry = self._entries.get(user_id)
        if entry is not None and self._clock() - entry[0] < self._ttl:
            return entry[1]

        # When an entry expires under load, every request for the user misses at
        # once: the first one reads, the others wait for its answer (or, if it
        # failed, read for themselves).
        reading = self._reading.get(user_id)
        if reading is not None:
            await asyncio.wait((reading,))
            if not reading.cancelled():
                return reading.result()
            return await self._read(user_id)

        reading = asyncio.get_running_loop().create_future()
        self._reading[user_id] = reading
        try:
            user = await self._read(user_id)
        except BaseException:
            reading.cancel()
            raise
        else:
            reading.set_result(user)
        finally:
            del self._reading[user_id]
        return user

    async def _read(self, user_id: str) -> User | None:
        read_at, invalidations = self._clock(), self._invalidations
        user = await self._store.get_user(user_id)
        if user is None or invalidations != self._invalidations:
            # Gone, or changed while we read: keep nothing that may be stale.
            self._entries.pop(user_id, None)
        elif self._ttl > 0 and self._max_entries > 0:
            self._entries[user_id] = (read_at, user)
            self._entries.move_to_end(user_id)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return user

    def invalidate(self, user_id: str) -> None:
        """Forget one user; the next `get` reads the store."""
        self._invalidations += 1
        self._entries.pop(user_id, None)
