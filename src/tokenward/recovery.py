"""Password recovery: one-time reset links by mail, and the reset that spends one.

Reset tokens are a kind of their own (`twr_` and 256 random bits), stored only as a
SHA-256, short-lived, and spent in one conditional write; spending one voids every
other of the same user. A reset revokes every session and every token of the user.
A request for an unknown address does nothing, after the same answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from datetime import timedelta

from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from tokenward.accounts import Accounts
from tokenward.clock import Clock
from tokenward.errors import InvalidRequest, InvalidResetToken, NotFound
from tokenward.events import log_event
from tokenward.mail import Mail, Mailer
from tokenward.sessions import ClientInfo, SessionService
from tokenward.store.base import Store
from tokenward.store.records import User

RESET_TOKEN_PREFIX = "twr_"
_RESET_TOKEN = re.compile(r"twr_[A-Za-z0-9_-]{43}")
RESET_PATH = "/account/reset"
# Mails per account: enough for a lost message or two, too few to flood a mailbox.
RESET_MAIL_LIMIT = "3/hour"
logger = logging.getLogger("tokenward.recovery")


def new_reset_token() -> str:
    return RESET_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_reset_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class PasswordRecovery:
    def __init__(
        self,
        store: Store,
        accounts: Accounts,
        sessions: SessionService,
        mailer: Mailer,
        clock: Clock,
        limiter_storage: Storage,
        *,
        ttl: int,
        base_url: str,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.sessions = sessions
        self.mailer = mailer
        self.clock = clock
        self.ttl = ttl
        self.base_url = base_url
        self._limiter = MovingWindowRateLimiter(limiter_storage)
        self._mail_limit = parse(RESET_MAIL_LIMIT)
        self._pending: set[asyncio.Task[None]] = set()

    def forgot(self, email: str, client: ClientInfo) -> None:
        """Handle the request in the background and return at once.

        The caller answers before any lookup, so the answer takes as long, and says
        the same, whether or not the account exists.
        """
        task = asyncio.create_task(self._send_link(email, client))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send_link(self, email: str, client: ClientInfo) -> None:
        try:
            user = await self.accounts.find(email)
        except (NotFound, InvalidRequest):
            return
        except Exception as exc:  # nobody awaits this task: report, never raise
            logger.error("password reset lookup failed: %s", type(exc).__name__)
            return
        try:
            if not user.is_active:
                return
            if not await self._limiter.hit(self._mail_limit, "reset_mail", user.id):
                log_event("password_reset_throttled", logger=logger, user_id=user.id)
                return
            token = new_reset_token()
            now = self.clock.now()
            expires = now + timedelta(seconds=self.ttl)
            await self.store.add_password_reset(
                hash_reset_token(token), user.id, now, expires
            )
            await self.mailer.send(self._mail(user, token))
            log_event(
                "password_reset_requested", logger=logger, user_id=user.id, ip=client.ip
            )
        except Exception as exc:  # nobody awaits this task: report, never raise
            logger.error("password reset mail failed: %s", type(exc).__name__)

    def _mail(self, user: User, token: str) -> Mail:
        minutes = self.ttl // 60
        link = f"{self.base_url}{RESET_PATH}?token={token}"
        body = (
            f"Someone asked to reset the password of your account at {self.base_url}.\n"
            f"\nTo choose a new password, open this link within {minutes} minutes; "
            f"it works once:\n\n{link}\n\n"
            "If it was not you, ignore this message: your password stays as it is.\n"
        )
        return Mail(to=user.email, subject="Reset your password", body=body)

    async def reset(self, token: str, new_password: str, client: ClientInfo) -> User:
        """Spend `token`, set the new password and revoke every session of the user."""
        if not isinstance(token, str) or not _RESET_TOKEN.fullmatch(token):
            raise InvalidResetToken()
        token_hash = hash_reset_token(token)
        grant = await self.store.find_password_reset(token_hash, self.clock.now())
        user = await self.store.get_user(grant.user_id) if grant else None
        # A link older than the last password change is void as well.
        if (
            grant is None
            or user is None
            or not user.is_active
            or grant.created_at < user.password_changed_at
        ):
            raise InvalidResetToken()
        # A weak password is refused before the token is spent, so it can be retried.
        password = self.accounts.policy.check(new_password, email=user.email)
        if await self.store.spend_password_reset(token_hash, self.clock.now()) is None:
            raise InvalidResetToken()

        await self.accounts.set_password(user, password)
        # Every token names its session, so revoking the sessions ends every token.
        revoked = await self.sessions.revoke_all(user.id, "password_reset")
        log_event(
            "password_reset",
            logger=logger,
            user_id=user.id,
            sessions_revoked=len(revoked),
            ip=client.ip,
        )
        return user

    async def drain(self) -> None:
        """Wait for the requests still being handled."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
