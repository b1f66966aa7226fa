"""Password recovery: reset links by mail, used once, short-lived; a reset ends all."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import PASSWORD, random_email
from tokenward import Tokenward
from tokenward.clock import FrozenClock
from tokenward.errors import (
    InvalidCredentials,
    InvalidResetToken,
    InvalidToken,
    TokenRevoked,
    WeakPassword,
)
from tokenward.mail import Mail
from tokenward.recovery import RESET_TOKEN_PREFIX
from tokenward.sessions import ClientInfo
from tokenward.store.memory import MemoryStore
from tokenward.store.records import User

CLIENT = ClientInfo(ip="192.0.2.7", user_agent="test")
NEW_PASSWORD = "a different and long enough passphrase"


class FakeMailer:
    def __init__(self) -> None:
        self.sent: list[Mail] = []

    async def send(self, mail: Mail) -> None:
        self.sent.append(mail)


class BrokenMailer:
    async def send(self, mail: Mail) -> None:
        raise ConnectionRefusedError("no mail server")


@pytest.fixture
def mailer(memory_tokenward: Tokenward) -> FakeMailer:
    fake = FakeMailer()
    memory_tokenward.recovery.mailer = fake  # type: ignore[assignment]
    return fake


async def register(tokenward: Tokenward) -> User:
    return await tokenward.register(random_email(), PASSWORD)


async def reset_link(tokenward: Tokenward, mailer: FakeMailer, user: User) -> str:
    """Ask for a reset link for `user` and return the token it carries."""
    tokenward.recovery.forgot(user.email, CLIENT)
    await tokenward.recovery.drain()
    body = mailer.sent[-1].body
    return body.split("token=", 1)[1].split()[0]


async def test_forgot_mails_a_link_whose_token_is_stored_only_as_a_hash(
    memory_tokenward: Tokenward, mailer: FakeMailer
) -> None:
    """One mail to the account's address with a `twr_` link; the store keeps a hash."""
    user = await register(memory_tokenward)

    token = await reset_link(memory_tokenward, mailer, user)

    assert len(mailer.sent) == 1
    assert mailer.sent[0].to == user.email
    assert "http://localhost:8000/account/reset?token=twr_" in mailer.sent[0].body
    assert token.startswith(RESET_TOKEN_PREFIX) and len(token) == 47
    store = memory_tokenward.store
    assert isinstance(store, MemoryStore)
    assert all(len(key) == 32 for key in store.password_resets)
    assert token.encode() not in b"".join(store.password_resets)


@pytest.mark.parametrize("email", ["nobody@example.com", "not an email"])
async def test_forgot_for_an_unknown_address_does_nothing(
    memory_tokenward: Tokenward, mailer: FakeMailer, email: str
) -> None:
    """No account, no mail, and no error for the caller to notice."""
    memory_tokenward.recovery.forgot(email, CLIENT)
    await memory_tokenward.recovery.drain()

    assert mailer.sent == []


async def test_forgot_for_a_disabled_account_sends_nothing(
    memory_tokenward: Tokenward, mailer: FakeMailer
) -> None:
    """A disabled account cannot be taken back through recovery."""
    user = await register(memory_tokenward)
    await memory_tokenward.set_user_active(user, False)

    memory_tokenward.recovery.forgot(user.email, CLIENT)
    await memory_tokenward.recovery.drain()

    assert mailer.sent == []


async def test_reset_sets_the_password_and_revokes_every_session(
    memory_tokenward: Tokenward, mailer: FakeMailer
) -> None:
    """After a reset the old password and every earlier token stop working."""
    user = await register(memory_tokenward)
    pair = await memory_tokenward.login(user.email, PASSWORD, CLIENT)
    token = await reset_link(memory_tokenward, mailer, user)

    await memory_tokenward.recovery.reset(token, NEW_PASSWORD, CLIENT)

    with pytest.raises(TokenRevoked):
        memory_tokenward.tokens.verify(pair.access_token)
    with pytest.raises(TokenRevoked):
        await memory_tokenward.refresh(pair.refresh_token, CLIENT)
    with pytest.raises(InvalidCredentials):
        await memory_tokenward.login(user.email, PASSWORD, CLIENT)
    assert await memory_tokenward.login(user.email, NEW_PASSWORD, CLIENT)


async def test_reset_token_works_once(
    memory_tokenward: Tokenward, mailer: FakeMailer
) -> None:
    """The second use of a reset token is refused."""
    user = await register(memory_tokenward)
    token = await reset_link(memory_tokenward, mailer, user)
    await memory_tokenward.recovery.reset(token, NEW_PASSWORD, CLIENT)

    with pytest.raises(InvalidResetToken):
        await memory_tokenward.recovery.reset(
            token, "yet another long passphrase", CLIENT
        )


async def test_reset_token_expires(
    memory_tokenward: Tokenward, mailer: FakeMailer, clock: FrozenClock
) -> None:
    """A reset token past `TOKENWARD_RESET_TTL` is refused."""
    user = await register(memory_tokenward)
    token = await reset_link(memory_tokenward, mailer, user)

    clock.advance(memory_tokenward.settings.reset_ttl + 1)

    with pytest.raises(InvalidResetToken):
        await memory_tokenward.recovery.reset(token, NEW_PASSWORD, CLIENT)


async def test_using_one_link_voids_the_others(
    memory_tokenward: Tokenward, mailer: FakeMailer
) -> None:
    """Of several links sent to one account, the first used spends them all."""
    user = await register(memory_tokenward)
    first = await reset_link(memory_tokenward, mailer, user)
    second = await reset_link(memory_tokenward, mailer, user)

    await memory_tokenward.recovery.reset(second, NEW_PASSWORD, CLIENT)

    with pytest.raises(InvalidResetToken):
        await memory_tokenward.recovery.reset(
            first, "yet another long passphrase", CLIENT
        )


async def test_weak_password_does_not_spend_the_token(
    memory_tokenward: Tokenward, mailer: FakeMailer
) -> None:
    """A refused new password leaves the link usable for a better one."""
    user = await register(memory_tokenward)
    token = await reset_link(memory_tokenward, mailer, user)

    with pytest.raises(WeakPassword):
        await memory_tokenward.recovery.reset(token, "short", CLIENT)
    await memory_tokenward.recovery.reset(token, NEW_PASSWORD, CLIENT)


async def test_password_made_of_the_email_does_not_spend_the_token(
    memory_tokenward: Tokenward, mailer: FakeMailer
) -> None:
    """The context-word check runs before the link is spent, like the length check."""
    user = await register(memory_tokenward)
    token = await reset_link(memory_tokenward, mailer, user)
    local_part = user.email.split("@")[0]

    with pytest.raises(WeakPassword):
        await memory_tokenward.recovery.reset(token, local_part * 3, CLIENT)
    await memory_tokenward.recovery.reset(token, NEW_PASSWORD, CLIENT)


async def test_link_older_than_a_password_change_is_void(
    memory_tokenward: Tokenward, mailer: FakeMailer, clock: FrozenClock
) -> None:
    """Changing the password while signed in retires reset links already sent."""
    user = await register(memory_tokenward)
    token = await reset_link(memory_tokenward, mailer, user)
    pair = await memory_tokenward.login(user.email, PASSWORD, CLIENT)
    clock.advance(1)
    claims = memory_tokenward.tokens.verify(pair.access_token)
    await memory_tokenward.change_password(claims, PASSWORD, NEW_PASSWORD, CLIENT)

    with pytest.raises(InvalidResetToken):
        await memory_tokenward.recovery.reset(
            token, "yet another long passphrase", CLIENT
        )


async def test_reset_tokens_and_session_tokens_are_not_interchangeable(
    memory_tokenward: Tokenward, mailer: FakeMailer
) -> None:
    """A reset token is no refresh or access token, and a refresh token no reset token."""
    user = await register(memory_tokenward)
    pair = await memory_tokenward.login(user.email, PASSWORD, CLIENT)
    token = await reset_link(memory_tokenward, mailer, user)

    with pytest.raises(InvalidResetToken):
        await memory_tokenward.recovery.reset(pair.refresh_token, NEW_PASSWORD, CLIENT)
    with pytest.raises(InvalidResetToken):
        await memory_tokenward.recovery.reset(pair.access_token, NEW_PASSWORD, CLIENT)
    with pytest.raises(InvalidToken):
        await memory_tokenward.refresh(token, CLIENT)
    with pytest.raises(InvalidToken):
        memory_tokenward.tokens.verify(token)
    await memory_tokenward.recovery.reset(token, NEW_PASSWORD, CLIENT)


async def test_reset_mails_per_account_are_limited(
    memory_tokenward: Tokenward, mailer: FakeMailer
) -> None:
    """Past three mails an hour, further requests for one account send nothing."""
    user = await register(memory_tokenward)

    for _ in range(5):
        memory_tokenward.recovery.forgot(user.email, CLIENT)
        await memory_tokenward.recovery.drain()

    assert len(mailer.sent) == 3


async def test_a_failing_mail_server_is_logged_not_raised(
    memory_tokenward: Tokenward, caplog: pytest.LogCaptureFixture
) -> None:
    """A mail failure ends in one log line without the token; nobody sees an error."""
    memory_tokenward.recovery.mailer = BrokenMailer()  # type: ignore[assignment]
    user = await register(memory_tokenward)

    with caplog.at_level(logging.INFO, logger="tokenward"):
        memory_tokenward.recovery.forgot(user.email, CLIENT)
        await memory_tokenward.recovery.drain()

    assert "password reset mail failed: ConnectionRefusedError" in caplog.text
    assert "twr_" not in caplog.text


async def test_reset_drops_the_cached_user_record(
    memory_tokenward: Tokenward, mailer: FakeMailer, clock: FrozenClock
) -> None:
    """A reset is seen by the user cache at once, like any other password write."""
    user = await register(memory_tokenward)
    token = await reset_link(memory_tokenward, mailer, user)
    await memory_tokenward.user_cache.get(user.id)
    clock.advance(1)

    await memory_tokenward.recovery.reset(token, NEW_PASSWORD, CLIENT)

    cached = await memory_tokenward.user_cache.get(user.id)
    assert cached is not None and cached.password_changed_at == clock.now()
