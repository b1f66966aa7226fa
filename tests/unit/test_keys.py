"""The key ring: every algorithm, JWKS contents, rotation, retirement, encryption."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import jwt
import pytest

from tests.conftest import make_settings
from tokenward import Tokenward
from tokenward.clock import FrozenClock
from tokenward.errors import InvalidToken, SigningKeyUnreadable
from tokenward.keys import KeyRing, new_key_record
from tokenward.keysync import KeySchedule
from tokenward.revocation import RevocationView
from tokenward.store.memory import MemoryStore
from tokenward.tokens import TokenService

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
ACCESS_TTL, LEEWAY = 900, 30
SCHEDULE = KeySchedule.of(ACCESS_TTL, LEEWAY, refresh_interval=5)


def ring(alg: str = "ES256", secret: bytes | None = None) -> KeyRing:
    return KeyRing(
        alg, encryption_secret=secret, activation_delay=SCHEDULE.activation_delay
    )


def service(keyring: KeyRing, clock: FrozenClock) -> TokenService:
    return TokenService(
        keyring,
        RevocationView(),
        clock,
        "https://issuer",
        "tokenward",
        ACCESS_TTL,
        LEEWAY,
    )


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
async def test_each_algorithm_signs_and_verifies(alg: str, clock: FrozenClock) -> None:
    """A token signed with the current key verifies, by us and by PyJWT from the JWKS."""
    keyring = ring(alg)
    await keyring.ensure_current(MemoryStore(), clock.now())
    tokens = service(keyring, clock)

    issued = tokens.issue("user-1", "session-1", "read")
    claims = tokens.verify(issued.token)
    jwk = keyring.jwks()["keys"][0]
    decoded = jwt.decode(
        issued.token,
        jwt.PyJWK(jwk).key,
        algorithms=[alg],
        audience="tokenward",
        options={"verify_exp": False, "verify_iat": False},  # the clock is frozen
    )

    assert claims.sub == "user-1"
    assert decoded["sid"] == "session-1"
    assert jwt.get_unverified_header(issued.token)["alg"] == alg
    assert jwk["alg"] == alg and jwk["kid"] == keyring.current.kid


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
async def test_jwks_never_holds_private_members(alg: str, clock: FrozenClock) -> None:
    """Through creation and rotation, no `d`, `p`, `q`, `k` (...) is ever published."""
    store, keyring = MemoryStore(), ring(alg)
    await keyring.ensure_current(store, clock.now())
    await keyring.rotate(store, clock.now(), SCHEDULE.retire_delay)

    keys = keyring.jwks()["keys"]

    assert len(keys) == 2
    for key in keys:
        assert not PRIVATE_MEMBERS & set(key)
        assert key["use"] == "sig"


async def test_hs256_publishes_nothing(clock: FrozenClock) -> None:
    """The HS256 secret is never published: the JWK Set stays empty."""
    keyring = KeyRing("HS256", secret=b"s" * 32)
    await keyring.ensure_current(MemoryStore(), clock.now())

    assert keyring.jwks() == {"keys": []}


async def test_rotation_publishes_first_then_signs(clock: FrozenClock) -> None:
    """A new key is published at once and signs only after the activation delay."""
    store, keyring = MemoryStore(), ring()
    old = await keyring.ensure_current(store, clock.now())
    clock.advance(3600)

    new = await keyring.rotate(store, clock.now(), SCHEDULE.retire_delay)
    published = {k["kid"] for k in keyring.jwks()["keys"]}
    signer_before = keyring.current.kid
    clock.advance(SCHEDULE.activation_delay.total_seconds())
    await keyring.load(store, clock.now())

    assert new.kid != old.kid
    assert published == {old.kid, new.kid}
    assert signer_before == old.kid
    assert keyring.current.kid == new.kid


async def test_old_key_verifies_until_its_tokens_expired(clock: FrozenClock) -> None:
    """The last token of the old key verifies to its end; then the key is unpublished."""
    store, keyring = MemoryStore(), ring()
    old = await keyring.ensure_current(store, clock.now())
    tokens = service(keyring, clock)
    clock.advance(3600)
    await keyring.rotate(store, clock.now(), SCHEDULE.retire_delay)

    # The old key signs until the activation delay and one more reload have passed.
    clock.advance((SCHEDULE.activation_delay + timedelta(seconds=5)).total_seconds())
    last = tokens.issue("user-1", "session-1", "")
    clock.advance(ACCESS_TTL + LEEWAY - 1)
    await keyring.load(store, clock.now())
    still_valid = tokens.verify(last.token)
    clock.advance(2)
    await keyring.load(store, clock.now())

    assert jwt.get_unverified_header(last.token)["kid"] == old.kid
    assert still_valid.sub == "user-1"
    assert old.kid not in {k["kid"] for k in keyring.jwks()["keys"]}
    with pytest.raises(InvalidToken):
        tokens.verify(last.token)


async def test_purge_removes_old_keys_only_after_retirement(clock: FrozenClock) -> None:
    """`purge` leaves a rotated-out key alone until it retired, then deletes it."""
    store, keyring = MemoryStore(), ring()
    old = await keyring.ensure_current(store, clock.now())
    new = await keyring.rotate(store, clock.now(), SCHEDULE.retire_delay)

    early = await store.purge(clock.now(), 604_800)
    clock.advance(SCHEDULE.retire_delay.total_seconds())
    late = await store.purge(clock.now(), 604_800)

    assert early.signing_keys == 0
    assert late.signing_keys == 1
    assert set(store.keys) == {new.kid}
    assert old.kid not in store.keys


async def test_a_change_of_algorithm_retires_the_old_keys(clock: FrozenClock) -> None:
    """Switching to another algorithm signs with it at once and retires the others."""
    store = MemoryStore()
    old = await ring("ES256").ensure_current(store, clock.now())

    keyring = ring("EdDSA")
    new = await keyring.ensure_current(store, clock.now(), SCHEDULE.retire_delay)

    assert keyring.current.kid == new.kid and new.alg == "EdDSA"
    assert store.keys[old.kid].retire_after == clock.now() + SCHEDULE.retire_delay


async def test_a_rotation_right_after_the_first_start_keeps_the_first_key(
    clock: FrozenClock,
) -> None:
    """While no key has been published long enough, the oldest one keeps signing."""
    store, keyring = MemoryStore(), ring()
    first = await keyring.ensure_current(store, clock.now())

    second = await keyring.rotate(store, clock.now(), SCHEDULE.retire_delay)
    signer_before = keyring.current.kid
    clock.advance(SCHEDULE.activation_delay.total_seconds())
    await keyring.load(store, clock.now())

    assert signer_before == first.kid
    assert keyring.current.kid == second.kid


class YieldingStore(MemoryStore):
    """A memory store whose reads let other tasks run before they return, as a
    database's do, so two instances can both read the state before either writes."""

    async def list_signing_keys(self):  # type: ignore[no-untyped-def]
        records = await super().list_signing_keys()
        await asyncio.sleep(0)
        return records

    async def add_signing_key(self, key):  # type: ignore[no-untyped-def]
        self.attempts = getattr(self, "attempts", 0) + 1
        await super().add_signing_key(key)


async def test_racing_rotations_agree_on_one_new_key(clock: FrozenClock) -> None:
    """Two instances rotating at once store one new key and both report that one."""
    store = YieldingStore()
    first, second = ring(), ring()
    await first.ensure_current(store, clock.now())
    await second.load(store, clock.now())

    a, b = await asyncio.gather(
        first.rotate(store, clock.now(), SCHEDULE.retire_delay),
        second.rotate(store, clock.now(), SCHEDULE.retire_delay),
    )

    assert store.attempts == 3  # the first key, then one insert per rotation
    assert len(store.keys) == 2
    assert a.kid == b.kid


def test_schedule_keeps_old_keys_past_their_last_token() -> None:
    """Retirement waits for activation, one reload, the token lifetime and the leeway."""
    assert SCHEDULE.activation_delay == timedelta(seconds=6)
    assert SCHEDULE.retire_delay == timedelta(seconds=6 + 5 + ACCESS_TTL + LEEWAY)


async def test_stored_private_key_is_encrypted_with_the_secret(
    clock: FrozenClock,
) -> None:
    """With a key-encryption secret the PEM at rest is encrypted, and loads with it."""
    store = MemoryStore()
    await ring(secret=b"a strong encryption secret").ensure_current(store, clock.now())
    (record,) = store.keys.values()

    reloaded = ring(secret=b"a strong encryption secret")
    await reloaded.load(store, clock.now())

    assert record.private_key.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert reloaded.current.kid == record.kid


async def test_a_wrong_secret_fails_with_one_clear_line(clock: FrozenClock) -> None:
    """A wrong secret stops the load, naming the setting and never the secret."""
    store = MemoryStore()
    await ring(secret=b"the right secret").ensure_current(store, clock.now())

    with pytest.raises(SigningKeyUnreadable) as caught:
        await ring(secret=b"the wrong secret").load(store, clock.now())

    assert "TOKENWARD_KEY_ENCRYPTION_SECRET is wrong" in caught.value.detail
    assert "\n" not in caught.value.detail
    assert (
        'secret"' not in caught.value.detail and "wrong secret" not in caught.value.detail
    )


async def test_a_missing_secret_fails_with_one_clear_line(clock: FrozenClock) -> None:
    """Encrypted keys and no secret: the load stops and says which setting is missing."""
    store = MemoryStore()
    await ring(secret=b"the right secret").ensure_current(store, clock.now())

    with pytest.raises(SigningKeyUnreadable, match="is not set"):
        await ring(secret=None).load(store, clock.now())


async def test_unencrypted_keys_still_load_once_a_secret_is_set(
    clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Keys made before the secret load, with a warning to rotate; new ones encrypt."""
    store = MemoryStore()
    old = await ring().ensure_current(store, clock.now())

    keyring = ring(secret=b"a new encryption secret")
    with caplog.at_level(logging.WARNING, logger="tokenward.keys"):
        await keyring.load(store, clock.now())
    new = await keyring.rotate(store, clock.now(), SCHEDULE.retire_delay)

    assert keyring.get(old.kid) is not None
    assert "stored unencrypted" in caplog.text
    assert store.keys[new.kid].private_key.startswith(b"-----BEGIN ENCRYPTED")


async def test_a_key_that_does_not_match_its_kid_is_refused(clock: FrozenClock) -> None:
    """A stored key whose public half is not what its `kid` names is not used."""
    store = MemoryStore()
    genuine = new_key_record("ES256", 1, clock.now())
    other = new_key_record("ES256", 2, clock.now())
    await store.add_signing_key(
        type(genuine)(**{**_fields(genuine), "private_key": other.private_key})
    )

    with pytest.raises(SigningKeyUnreadable, match="damaged"):
        await ring().load(store, clock.now())


async def test_tokenward_rotation_uses_the_settings_schedule(clock: FrozenClock) -> None:
    """`rotate_keys` retires the old key after the schedule derived from the settings."""
    settings = make_settings(key_refresh_interval=2)
    tokenward = Tokenward(settings, store=MemoryStore(), clock=clock)
    async with tokenward.running():
        old = tokenward.keyring.current.kid
        new = await tokenward.rotate_keys()
        retire_after = tokenward.store.keys[old].retire_after  # type: ignore[attr-defined]

    expected = KeySchedule.of(settings.access_ttl, settings.leeway, 2).retire_delay
    assert new != old
    assert retire_after == clock.now() + expected


def _fields(record: object) -> dict[str, object]:
    return {name: getattr(record, name) for name in record.__slots__}  # type: ignore[attr-defined]
