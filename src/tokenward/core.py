"""`Tokenward`: the services wired together, and what they do for a whole request.

The HTTP layer and the CLI both call these methods, so a login from either runs the
same rules. Nothing here knows about FastAPI.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from tokenward.accounts import Accounts, normalize_email
from tokenward.clock import Clock, SystemClock
from tokenward.config import Settings, check_settings
from tokenward.csrf import CsrfTokens
from tokenward.errors import (
    InvalidCredentials,
    InvalidRequest,
    InvalidScope,
    StorageUnavailable,
    TokenRevoked,
)
from tokenward.events import log_event
from tokenward.keys import KeyRing
from tokenward.keysync import KeySchedule, KeySync
from tokenward.mail import Mailer
from tokenward.metrics import InstanceGauges, instance_registry
from tokenward.passwords import PasswordHasher, PasswordPolicy
from tokenward.ratelimit import RateLimiter
from tokenward.recovery import PasswordRecovery
from tokenward.revocation import DatabaseFeed, RevocationView, cancel
from tokenward.sessions import ClientInfo, SessionPolicy, SessionService
from tokenward.store.base import SessionCheck, Store
from tokenward.store.records import Session, User
from tokenward.store.sql import SqlStore
from tokenward.tokens import AccessClaims, TokenService
from tokenward.usercache import UserCache

logger = logging.getLogger("tokenward.auth")


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    session_id: str
    token_type: str = "Bearer"
    scope: str = ""


class Tokenward:
    """Everything one tokenward instance needs; start it before use, stop it after."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings = settings or Settings()
        check_settings(settings)
        self.clock = clock or SystemClock()
        self.store: Store = store or SqlStore(settings.database_url)
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
            threads=settings.hash_threads,
            queue_limit=settings.hash_queue_limit,
            max_length=settings.password_max_length,
        )
        self.policy = PasswordPolicy(
            settings.password_min_length, settings.password_max_length
        )
        self.user_cache = UserCache(self.store, ttl=settings.user_cache_ttl)
        self.accounts = Accounts(
            self.store, self.hasher, self.policy, self.clock, self.user_cache.invalidate
        )
        self.revocations = RevocationView()
        self.key_schedule = KeySchedule.of(
            settings.access_ttl, settings.leeway, settings.key_refresh_interval
        )
        self.keyring = KeyRing(
            settings.signing_alg,
            secret=_secret(settings.secret_key),
            encryption_secret=_secret(settings.key_encryption_secret),
            activation_delay=self.key_schedule.activation_delay,
        )
        self.keysync = KeySync(
            self.keyring, self.store, self.clock, settings.key_refresh_interval
        )
        self.tokens = TokenService(
            self.keyring,
            self.revocations,
            self.clock,
            issuer=settings.issuer,
            audience=settings.audience,
            access_ttl=settings.access_ttl,
            leeway=settings.leeway,
            on_unknown_kid=self.keysync.request_reload,
            cache_size=settings.token_cache_size,
        )
        self.sessions = SessionService(
            self.store,
            SessionPolicy(
                idle_ttl=settings.refresh_idle_ttl,
                max_ttl=settings.session_max_ttl,
                reuse_grace=settings.refresh_reuse_grace,
                access_ttl=settings.access_ttl,
                leeway=settings.leeway,
            ),
            self.clock,
            self.revocations,
        )
        redis_url = _secret(settings.redis_url)
        self.ratelimiter = RateLimiter(
            settings.ip_rate,
            settings.login_rate,
            redis_url.decode() if redis_url else None,
            login_pair_rate=settings.login_pair_rate,
            login_ip_rate=settings.login_ip_rate,
        )
        self.csrf = CsrfTokens(self.store, self.clock)
        self.recovery = PasswordRecovery(
            self.store,
            self.accounts,
            self.sessions,
            Mailer.from_settings(settings),
            self.clock,
            self.ratelimiter.storage,
            ttl=settings.reset_ttl,
            base_url=settings.issuer,
        )
        self._feed = DatabaseFeed(
            self.store, self.revocations, self.clock, settings.revocation_poll_interval
        )
        self._tasks: list[asyncio.Task[None]] = []
        self.metrics = instance_registry(
            InstanceGauges(
                lambda: len(self.revocations), lambda: len(self.keyring.keys())
            )
        )

    # Life cycle

    async def start(self) -> None:
        """Connect, load keys and revocations, and start the background refreshers."""
        await self.store.connect()
        await self.keyring.ensure_current(
            self.store, self.clock.now(), self.key_schedule.retire_delay
        )
        await self.csrf.load()
        await self._feed.load()
        self._tasks = [
            asyncio.create_task(self._feed.run(), name="tokenward-revocations"),
            asyncio.create_task(self.keysync.run(), name="tokenward-keys"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            await cancel(task)
        self._tasks = []
        await self.recovery.drain()
        self.hasher.close()
        await self.store.close()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Tokenward]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    async def readiness(self) -> dict[str, str]:
        """Each backing service and whether it answers."""
        checks = {"database": "ok"}
        try:
            await self.store.ping()
        except StorageUnavailable:
            checks["database"] = "unavailable"
        if self.settings.redis_url is not None:
            try:
                healthy = await self.ratelimiter.storage.check()
            except Exception:  # any failure to answer is "not ready"
                healthy = False
            checks["redis"] = "ok" if healthy else "unavailable"
        return checks

    # What the routes do

    async def register(self, email: str, password: str) -> User:
        user = await self.accounts.register(email, password)
        log_event("user_registered", logger=logger, user_id=user.id)
        return user

    async def login(
        self,
        email: str,
        password: str,
        client: ClientInfo,
        device_name: str | None = None,
        scope: str | None = None,
    ) -> TokenPair:
        account = _account_key(email)
        await self.ratelimiter.attempt_login(account, client.ip)
        try:
            user = await self.accounts.authenticate(email, password)
        except InvalidCredentials:
            log_event("login_failed", logger=logger, ip=client.ip)
            raise
        await self.ratelimiter.login_succeeded(account, client.ip)
        granted = _grant_scope(user, scope)
        session, refresh_token = await self.sessions.open(
            user.id, client, device_name, granted
        )
        log_event(
            "login_succeeded",
            logger=logger,
            user_id=user.id,
            session_id=session.id,
            ip=client.ip,
        )
        return self._pair(session, refresh_token)

    async def refresh(
        self,
        refresh_token: str,
        client: ClientInfo,
        guard: SessionCheck | None = None,
        scope: str | None = None,
    ) -> TokenPair:
        """Rotate the refresh token into a new pair.

        `guard` may refuse the session before anything is written: the cookie
        transport checks its CSRF token there. `scope` may narrow the new access
        token, never widen it beyond the session's grant.
        """

        def check(session: Session) -> None:
            if guard is not None:
                guard(session)
            if scope is not None and not set(scope.split()) <= set(session.scope.split()):
                raise InvalidScope("The scope exceeds what the session was granted.")

        session, next_token = await self.sessions.rotate(refresh_token, client, check)
        # Disabling a user revokes its sessions, which `rotate` checks in the same
        # transaction; this look-up may be a second old without letting one through.
        user = await self.user_cache.get(session.user_id)
        if user is None or not user.is_active:
            await self.sessions.revoke(session.id, "user_inactive")
            raise TokenRevoked("The account is disabled.")
        log_event(
            "token_refreshed",
            logger=logger,
            user_id=session.user_id,
            session_id=session.id,
            ip=client.ip,
        )
        return self._pair(session, next_token, scope)

    def _pair(
        self, session: Session, refresh_token: str, scope: str | None = None
    ) -> TokenPair:
        scope = session.scope if scope is None else scope
        expires_at = self.sessions.expires_at(session)
        access = self.tokens.issue(session.user_id, session.id, scope, expires_at)
        refresh_expires_in = int((expires_at - self.clock.now()).total_seconds())
        return TokenPair(
            access_token=access.token,
            expires_in=access.expires_in,
            refresh_token=refresh_token,
            refresh_expires_in=max(refresh_expires_in, 0),
            session_id=session.id,
            scope=scope,
        )

    async def logout(self, claims: AccessClaims, client: ClientInfo) -> None:
        await self.sessions.revoke(claims.sid, "logout")
        log_event(
            "logout",
            logger=logger,
            user_id=claims.sub,
            session_id=claims.sid,
            ip=client.ip,
        )

    async def logout_all(self, claims: AccessClaims, client: ClientInfo) -> None:
        revoked = await self.sessions.revoke_all(claims.sub, "logout_all")
        log_event(
            "logout_all",
            logger=logger,
            user_id=claims.sub,
            session_id=claims.sid,
            sessions=len(revoked),
            ip=client.ip,
        )

    async def list_sessions(self, user_id: str) -> list[Session]:
        return await self.sessions.active(user_id)

    async def revoke_session(
        self, session_id: str, claims: AccessClaims, client: ClientInfo
    ) -> None:
        await self.sessions.get_owned(session_id, claims.sub)
        await self.sessions.revoke(session_id, "revoked_by_user")
        log_event(
            "session_revoked",
            logger=logger,
            user_id=claims.sub,
            session_id=session_id,
            by_session=claims.sid,
            ip=client.ip,
        )

    async def change_password(
        self, claims: AccessClaims, current: str, new: str, client: ClientInfo
    ) -> None:
        user = await self.accounts.get(claims.sub)
        # A stolen access token must not become an unlimited password oracle.
        await self.ratelimiter.attempt_login(user.email_key, client.ip)
        await self.accounts.check_password(user, current)
        await self.accounts.set_password(user, new)
        revoked = await self.sessions.revoke_all(
            user.id, "password_changed", keep_session_id=claims.sid
        )
        log_event(
            "password_changed",
            logger=logger,
            user_id=user.id,
            session_id=claims.sid,
            sessions_revoked=len(revoked),
            ip=client.ip,
        )

    async def set_user_active(self, user: User, active: bool) -> None:
        await self.store.set_user_active(user.id, active)
        self.user_cache.invalidate(user.id)
        if not active:
            await self.sessions.revoke_all(user.id, "user_disabled", whole_user=True)
        log_event(
            "user_enabled" if active else "user_disabled", logger=logger, user_id=user.id
        )

    async def rotate_keys(self) -> str:
        """Add a signing key; `KeySchedule` says when it signs and the others retire."""
        delay = self.key_schedule.retire_delay
        key = await self.keyring.rotate(self.store, self.clock.now(), delay)
        log_event("signing_key_rotated", logger=logger, kid=key.kid)
        return key.kid


def _account_key(email: str) -> str:
    try:
        return normalize_email(email)[1]
    except InvalidRequest:
        return email.strip().casefold()[:320]


def _grant_scope(user: User, requested: str | None) -> str:
    """Grant the requested scopes the user holds; with no request, all of them."""
    if requested is None:
        return " ".join(user.scopes)
    wanted = requested.split()
    return " ".join(scope for scope in wanted if scope in user.scopes)


def _secret(value: Any) -> bytes | None:
    return value.get_secret_value().encode() if value is not None else None
