"""Password hashing off the event loop, rehash rules, and the password policy.

Argon2id with the OWASP parameters (19 MiB, t=2, p=1) by default; bcrypt only verifies
imported hashes, which are replaced by Argon2id at the next successful login.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import secrets
import sys
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from tokenward.blocklist import context_words, weakness
from tokenward.errors import ServerBusy, WeakPassword

BCRYPT_MAX_BYTES = 72
T = TypeVar("T")
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
_GLIBC_DEFAULT_MMAP_THRESHOLD = 128 * 1024


HASH_THREAD_NICENESS = 10


def _yield_to_requests() -> None:
    """Run this hashing thread at a lower CPU priority than the event loop.

    When cores are scarce, a login storm then slows the logins, which wait for their
    hash anyway, and not every other request. On Linux a thread has its own nice
    value; elsewhere this does nothing.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(
                os.PRIO_PROCESS, threading.get_native_id(), HASH_THREAD_NICENESS
            )


def return_hash_buffers_to_os() -> bool:
    """Make every Argon2 buffer go back to the operating system once it is freed.

    Argon2 allocates its whole memory cost (19 MiB by default) for each hash. glibc
    raises its mmap threshold after the first such buffer is freed, so later ones
    come from each hashing thread's heap and stay resident: RSS would grow by the
    memory cost per hash thread. Pinning the threshold at glibc's default keeps large
    buffers mapped and unmapped one by one. It is process-wide, so the server calls it
    and an embedding application may choose to; returns whether it applied.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, _GLIBC_DEFAULT_MMAP_THRESHOLD))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """NIST SP 800-63B-4: length limits, no character classes, no guessable passwords."""

    min_length: int = 15
    max_length: int = 1024

    def check(self, password: str, *, email: str | None = None) -> str:
        """Return the normalized password, or raise `WeakPassword` saying why.

        Length counts characters, not bytes, and nothing is ever cut off: a password
        longer than `max_length` is refused, never shortened.
        """
        password = normalize(password)
        if len(password) < self.min_length:
            raise WeakPassword(
                f"Use at least {self.min_length} characters; a few unrelated words "
                "make a passphrase that is long and easy to remember."
            )
        if len(password) > self.max_length:
            raise WeakPassword(f"Use at most {self.max_length} characters.")
        if not password.strip():
            raise WeakPassword("The password cannot be only spaces.")
        reason = weakness(password, context_words(email))
        if reason is not None:
            raise WeakPassword(f"{reason} Choose a password that others would not guess.")
        return password


def normalize(password: str) -> str:
    """NFC, so the same passphrase typed on different keyboards hashes alike."""
    return unicodedata.normalize("NFC", password)


class PasswordHasher:
    """Hashes and verifies on a bounded thread pool so requests never wait behind Argon2.

    argon2-cffi and bcrypt release the GIL while they work, so the threads run in
    parallel with the event loop. Past `queue_limit` waiting jobs, new ones are refused
    with `ServerBusy` rather than piling up without end.
    """

    def __init__(
        self,
        time_cost: int = 2,
        memory_cost: int = 19_456,
        parallelism: int = 1,
        threads: int = 2,
        queue_limit: int = 64,
        max_length: int = 1024,
    ) -> None:
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
                ),
                BcryptHasher(),
            )
        )
        self._pool = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="hash", initializer=_yield_to_requests
        )
        self._slots = asyncio.Semaphore(threads + queue_limit)
        self._max_length = max_length
        self._dummy_hash = self._hash.hash(secrets.token_urlsafe(16))

    @property
    def threads(self) -> int:
        return self._pool._max_workers

    def recognizes(self, password_hash: str) -> bool:
        """Whether `password_hash` is a well-formed Argon2 or bcrypt hash we can check."""
        return any(hasher.identify(password_hash) for hasher in self._hash.hashers)

    async def hash(self, password: str) -> str:
        return await self._run(self._hash.hash, normalize(password))

    async def verify(
        self, password: str, password_hash: str | None
    ) -> tuple[bool, str | None]:
        """Check a password; the second item is a new hash when the stored one is stale.

        With no stored hash (unknown user), a dummy hash is checked instead, so the
        answer takes as long as for a real account.
        """
        password = normalize(password)
        if password_hash is None or len(password) > self._max_length:
            await self._run(self._hash.verify, password, self._dummy_hash)
            return False, None
        return await self._run(self._verify_and_update, password, password_hash)

    def _verify_and_update(
        self, password: str, password_hash: str
    ) -> tuple[bool, str | None]:
        if password_hash.startswith("$2") and len(password.encode()) > BCRYPT_MAX_BYTES:
            # bcrypt reads only 72 bytes; longer input would match a mere prefix.
            return False, None
        try:
            return self._hash.verify_and_update(password, password_hash)
        except (UnknownHashError, ValueError):
            return False, None

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        if self._slots.locked():
            raise ServerBusy()
        async with self._slots:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
