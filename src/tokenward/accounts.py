"""Accounts: email normalization, registration, authentication, password changes."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import replace

from email_validator import EmailNotValidError, validate_email

from tokenward.clock import Clock
from tokenward.errors import InvalidCredentials, InvalidRequest, NotFound
from tokenward.passwords import PasswordHasher, PasswordPolicy
from tokenward.store.base import Store
from tokenward.store.records import User

MAX_EMAIL_LENGTH = 254
# Scripts whose letters pass for one another: Cyrillic U+0430, Greek U+03BF, Latin a, o.
_CONFUSABLE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")


def normalize_email(raw: str) -> tuple[str, str]:
    """Return the email to show and the key that makes one mailbox one account.

    The key folds case and Unicode compatibility forms (NFKC), so a fullwidth `A`
    and a plain one, or `Alice` and `alice`, cannot both register; an address that
    mixes Latin, Greek and Cyrillic letters within one part is refused, so a Cyrillic
    `a` (U+0430) cannot stand in for a Latin one.
    """
    raw = raw.strip()
    if not raw or len(raw) > MAX_EMAIL_LENGTH or "\x00" in raw:
        raise InvalidRequest("The email address is not valid.")
    try:
        normalized = validate_email(
            unicodedata.normalize("NFKC", raw), check_deliverability=False
        ).normalized
    except EmailNotValidError as exc:
        raise InvalidRequest("The email address is not valid.") from exc
    if any(_mixes_scripts(part) for part in re.split(r"[@.]", normalized)):
        raise InvalidRequest("The email address mixes letters of different alphabets.")
    key = unicodedata.normalize("NFKC", normalized.casefold())
    return normalized, key


def _mixes_scripts(part: str) -> bool:
    scripts = set()
    for char in part:
        if unicodedata.category(char).startswith("L"):
            name = unicodedata.name(char, "")
            scripts.update(s for s in _CONFUSABLE_SCRIPTS if name.startswith(s + " "))
    return len(scripts) > 1


class Accounts:
    def __init__(
        self,
        store: Store,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        clock: Clock,
        on_change: Callable[[str], None] = lambda _user_id: None,
    ) -> None:
        self.store = store
        self.hasher = hasher
        self.policy = policy
        self.clock = clock
        # Told the user id after every write here, so caches of users stay true.
        self._on_change = on_change

    async def register(
        self,
        email: str,
        password: str,
        *,
        is_admin: bool = False,
        scopes: tuple[str, ...] = (),
    ) -> User:
        display, key = normalize_email(email)
        password = self.policy.check(password, email=display)
        now = self.clock.now()
        user = User(
            id=str(uuid.uuid4()),
            email=display,
            email_key=key,
            password_hash=await self.hasher.hash(password),
            created_at=now,
            password_changed_at=now,
            is_admin=is_admin,
            scopes=scopes,
        )
        await self.store.add_user(user)
        return user

    async def authenticate(self, email: str, password: str) -> User:
        """Return the active user with this email and password, else `InvalidCredentials`.

        Unknown emails, wrong passwords and disabled accounts fail alike and take as
        long, so the answer tells nothing about which accounts exist.
        """
        try:
            _, key = normalize_email(email)
        except InvalidRequest:
            key = None
        user = await self.store.get_user_by_email(key) if key else None
        valid, new_hash = await self.hasher.verify(
            password, user.password_hash if user else None
        )
        if user is None or not valid or not user.is_active:
            raise InvalidCredentials()
        if new_hash is not None:
            await self.store.set_password_hash(user.id, new_hash, changed_at=None)
            self._on_change(user.id)
            user = replace(user, password_hash=new_hash)
        return user

    async def get(self, user_id: str) -> User:
        user = await self.store.get_user(user_id)
        if user is None:
            raise NotFound("No such user.")
        return user

    async def find(self, email: str) -> User:
        _, key = normalize_email(email)
        user = await self.store.get_user_by_email(key)
        if user is None:
            raise NotFound("No such user.")
        return user

    async def check_password(self, user: User, password: str) -> None:
        valid, _ = await self.hasher.verify(password, user.password_hash)
        if not valid:
            raise InvalidCredentials("The current password is incorrect.")

    async def set_password(self, user: User, new_password: str) -> None:
        new_password = self.policy.check(new_password, email=user.email)
        new_hash = await self.hasher.hash(new_password)
        await self.store.set_password_hash(user.id, new_hash, changed_at=self.clock.now())
        self._on_change(user.id)
