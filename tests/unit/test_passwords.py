"""Password hashing, rehash rules and the length policy."""

from __future__ import annotations

import asyncio
import unicodedata

import bcrypt
import pytest

from tokenward.config import Settings
from tokenward.errors import WeakPassword
from tokenward.passwords import PasswordHasher, PasswordPolicy

PASSWORD = "correct horse battery staple"


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8192, threads=2)


async def test_hash_is_argon2id_and_verifies(hasher: PasswordHasher) -> None:
    """A new hash is Argon2id and accepts only the right password."""
    stored = await hasher.hash(PASSWORD)

    assert stored.startswith("$argon2id$")
    assert (await hasher.verify(PASSWORD, stored))[0] is True
    assert (await hasher.verify(PASSWORD + "!", stored))[0] is False


async def test_composed_and_decomposed_unicode_match(hasher: PasswordHasher) -> None:
    """The same passphrase typed as NFC or NFD verifies alike."""
    composed = "crème brûlée for everyone"
    stored = await hasher.hash(composed)

    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert (await hasher.verify(decomposed, stored))[0] is True


async def test_changed_parameters_give_a_new_hash_on_login(
    hasher: PasswordHasher,
) -> None:
    """A hash made with older parameters is replaced at the next successful check."""
    old = PasswordHasher(time_cost=1, memory_cost=8192 * 2, threads=1)
    stored = await old.hash(PASSWORD)

    valid, new_hash = await hasher.verify(PASSWORD, stored)

    assert valid is True
    assert new_hash is not None and "m=8192" in new_hash


async def test_current_hash_needs_no_update(hasher: PasswordHasher) -> None:
    stored = await hasher.hash(PASSWORD)

    assert await hasher.verify(PASSWORD, stored) == (True, None)


async def test_imported_bcrypt_hash_verifies_and_upgrades(hasher: PasswordHasher) -> None:
    """bcrypt hashes from another system log in once and come back as Argon2id."""
    imported = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()

    valid, new_hash = await hasher.verify(PASSWORD, imported)

    assert valid is True
    assert new_hash is not None and new_hash.startswith("$argon2id$")


async def test_bcrypt_never_matches_a_mere_72_byte_prefix(hasher: PasswordHasher) -> None:
    """Two passwords sharing their first 72 bytes are not the same password."""
    long_password = "a" * 72 + "the rest differs"
    imported = bcrypt.hashpw(
        long_password[:72].encode(), bcrypt.gensalt(rounds=4)
    ).decode()

    assert (await hasher.verify(long_password, imported))[0] is False


async def test_garbage_hash_is_a_failed_check_not_a_crash(hasher: PasswordHasher) -> None:
    assert await hasher.verify(PASSWORD, "not-a-hash") == (False, None)


async def test_unknown_user_still_costs_a_hash(hasher: PasswordHasher) -> None:
    """Without a stored hash the dummy is checked, so timing does not reveal the miss."""
    calls: list[str] = []
    original = hasher._hash.verify

    def spy(password: str, stored: str) -> bool:
        calls.append(stored)
        return original(password, stored)

    hasher._hash.verify = spy  # type: ignore[method-assign]

    assert await hasher.verify(PASSWORD, None) == (False, None)
    assert calls == [hasher._dummy_hash]


async def test_hashing_leaves_the_event_loop_free() -> None:
    """Other coroutines keep running while a slow hash is computed."""
    slow = PasswordHasher(time_cost=3, memory_cost=65536, threads=1)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await slow.hash(PASSWORD)
    task.cancel()

    assert ticks > 10


def test_policy_refuses_short_and_absurdly_long_passwords() -> None:
    policy = PasswordPolicy(min_length=15, max_length=1024)

    with pytest.raises(WeakPassword, match="at least 15"):
        policy.check("short password")
    with pytest.raises(WeakPassword, match="at most 1024"):
        policy.check("x" * 1025)


def test_policy_accepts_long_passphrases_without_composition_rules() -> None:
    policy = PasswordPolicy(min_length=15, max_length=1024)

    assert policy.check("all lowercase words are fine here") == (
        "all lowercase words are fine here"
    )
    assert policy.check("p" * 64 + " and then some") is not None


def test_default_parameters_are_owasp_argon2id() -> None:
    """The defaults are OWASP's first Argon2id setting: 19 MiB, two passes, one lane."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert (settings.argon2_memory_cost, settings.argon2_time_cost) == (19_456, 2)
    assert settings.argon2_parallelism == 1
    assert settings.password_min_length == 15
