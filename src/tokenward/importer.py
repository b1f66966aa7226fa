"""Bulk import of accounts with their existing password hashes, from CSV.

Argon2 and bcrypt hashes are taken as they are; each is replaced by an Argon2id hash
with the current parameters at the user's next successful login. Nobody's password is
ever seen here.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from tokenward.accounts import normalize_email
from tokenward.clock import Clock
from tokenward.errors import EmailTaken, InvalidRequest
from tokenward.passwords import PasswordHasher
from tokenward.store.base import Store
from tokenward.store.records import User

REQUIRED_COLUMNS = ("email", "password_hash")
OPTIONAL_COLUMNS = ("is_active", "is_verified", "scopes")
TOO_MANY_FIELDS = "\x00too many fields"
_TRUE, _FALSE = {"1", "true", "yes"}, {"0", "false", "no", ""}


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (its header is wrong)."""


@dataclass
class ImportReport:
    imported: int = 0
    existing: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)


def read_rows(source: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) pairs, after checking the header names the columns."""
    reader = csv.DictReader(source)
    columns = set(reader.fieldnames or ())
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ImportFileError(f"the header must name the columns: {', '.join(missing)}")
    unknown = columns - set(REQUIRED_COLUMNS) - set(OPTIONAL_COLUMNS)
    if unknown:
        raise ImportFileError(f"unknown columns: {', '.join(sorted(unknown))}")
    for row in reader:
        if None in row:
            # csv puts the surplus of a row under None; say so instead of guessing.
            yield reader.line_num, {TOO_MANY_FIELDS: "1"}
            continue
        yield reader.line_num, {key: (value or "").strip() for key, value in row.items()}


def user_from_row(row: dict[str, str], hasher: PasswordHasher, clock: Clock) -> User:
    """Build the user a row describes, or raise `InvalidRequest` saying what is wrong."""
    if TOO_MANY_FIELDS in row:
        raise InvalidRequest(
            "more fields than the header names (quote values that hold commas)"
        )
    email, key = normalize_email(row["email"])
    password_hash = row["password_hash"]
    if not hasher.recognizes(password_hash):
        raise InvalidRequest("password_hash is not an Argon2 or bcrypt hash")
    now = clock.now()
    return User(
        id=str(uuid.uuid4()),
        email=email,
        email_key=key,
        password_hash=password_hash,
        created_at=now,
        password_changed_at=now,
        is_active=_flag(row.get("is_active"), default=True),
        is_verified=_flag(row.get("is_verified"), default=False),
        scopes=tuple(dict.fromkeys((row.get("scopes") or "").split())),
    )


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise InvalidRequest(f"'{value}' is not true or false")


async def import_users(
    rows: Iterable[tuple[int, dict[str, str]]],
    store: Store,
    hasher: PasswordHasher,
    clock: Clock,
    report: ImportReport,
) -> ImportReport:
    """Add each valid row's user; existing emails are kept as they are."""
    for line, row in rows:
        try:
            user = user_from_row(row, hasher, clock)
        except InvalidRequest as exc:
            report.invalid.append((line, exc.detail))
            continue
        try:
            await store.add_user(user)
        except EmailTaken:
            report.existing += 1
        else:
            report.imported += 1
    return report
