"""`tokenward users import`: accounts with their existing hashes, from CSV."""

from __future__ import annotations

import asyncio
from pathlib import Path

import bcrypt
import pytest
from typer.testing import CliRunner

from tests.conftest import PASSWORD, make_settings
from tokenward import Tokenward
from tokenward.cli import app
from tokenward.passwords import PasswordHasher
from tokenward.sessions import ClientInfo
from tokenward.store.migrate import upgrade


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'import.db'}"
    monkeypatch.setenv("TOKENWARD_DATABASE_URL", url)
    monkeypatch.setenv("TOKENWARD_ARGON2_MEMORY_COST", "8192")
    monkeypatch.setenv("TOKENWARD_ARGON2_TIME_COST", "1")
    asyncio.run(upgrade(url))
    return url


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "users.csv"
    path.write_text(text)
    return path


def hashes() -> tuple[str, str]:
    bcrypt_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    argon_hash = asyncio.run(_argon(PASSWORD))
    return bcrypt_hash, argon_hash


async def _argon(password: str) -> str:
    hasher = PasswordHasher(time_cost=1, memory_cost=8192 * 2, threads=1)
    try:
        return await hasher.hash(password)
    finally:
        hasher.close()


def test_imported_users_log_in_and_their_hashes_upgrade(
    database: str, tmp_path: Path
) -> None:
    bcrypt_hash, argon_hash = hashes()
    csv_file = write_csv(
        tmp_path,
        "email,password_hash,scopes\n"
        f"old@example.com,{bcrypt_hash},reports:read\n"
        f'Other@Example.com,"{argon_hash}",\n',
    )

    result = CliRunner().invoke(app, ["users", "import", str(csv_file)])

    assert result.exit_code == 0, result.output
    assert "imported 2 users" in result.output

    async def login_and_read_hash() -> tuple[str, tuple[str, ...]]:
        async with Tokenward(make_settings(database_url=database)).running() as tw:
            await tw.login("OLD@example.com", PASSWORD, ClientInfo())
            user = await tw.accounts.find("old@example.com")
            return user.password_hash, user.scopes

    stored, scopes = asyncio.run(login_and_read_hash())
    assert stored.startswith("$argon2id$")
    assert scopes == ("reports:read",)


def test_existing_emails_are_kept_and_bad_rows_reported(
    database: str, tmp_path: Path
) -> None:
    bcrypt_hash, _ = hashes()
    csv_file = write_csv(
        tmp_path,
        "email,password_hash,is_active\n"
        f"a@example.com,{bcrypt_hash},yes\n"
        f"A@EXAMPLE.COM,{bcrypt_hash},yes\n"
        "b@example.com,plaintext-password,yes\n"
        f"not-an-email,{bcrypt_hash},yes\n"
        f"c@example.com,{bcrypt_hash},maybe\n"
        "d@example.com,$argon2id$v=19$m=8192,t=1,p=1$abc$def,yes\n",
    )

    result = CliRunner().invoke(app, ["users", "import", str(csv_file)])

    assert result.exit_code == 1
    assert "imported 1 users, kept 1 existing, refused 4 invalid rows" in result.output
    assert "line 4: password_hash is not an Argon2 or bcrypt hash" in result.output
    assert "line 7: more fields than the header names" in result.output
    assert "plaintext-password" not in result.output


def test_a_file_without_the_required_columns_is_refused(
    database: str, tmp_path: Path
) -> None:
    csv_file = write_csv(tmp_path, "mail,hash\na@example.com,x\n")

    result = CliRunner().invoke(app, ["users", "import", str(csv_file)])

    assert result.exit_code == 1
    assert "email, password_hash" in result.output
