"""Key rotation, retirement and encryption through the CLI beside a live server."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import httpx
import jwt
import pytest

from tests.conftest import PASSWORD, random_email
from tests.e2e.conftest import Server
from tests.live_server import (
    database_path,
    live_server,
    run_cli,
    setting_env,
    wait_for,
)

pytestmark = pytest.mark.e2e
PICKUP_LIMIT = 10.0  # the contract: every instance picks up a rotation within 10 s


def published(server: Server) -> set[str]:
    keys = httpx.get(f"{server.base_url}/.well-known/jwks.json", timeout=5).json()["keys"]
    return {key["kid"] for key in keys}


def login(server: Server, email: str) -> dict[str, str]:
    response = httpx.post(
        f"{server.base_url}/auth/login",
        json={"email": email, "password": PASSWORD},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def whoami(server: Server, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{server.base_url}/auth/whoami", headers=headers).status_code


def test_cli_rotation_is_picked_up_and_purged_after_retirement(tmp_path: Path) -> None:
    """A CLI rotation is published within 10 s, then signs; purge waits for retirement."""
    with live_server(tmp_path, key_refresh_interval=1) as server:
        email = random_email()
        httpx.post(
            f"{server.base_url}/auth/register",
            json={"email": email, "password": PASSWORD},
        )
        before = login(server, email)
        old_kid = kid_of(before["access_token"])

        rotated = server.cli("keys", "rotate")
        new_kid = rotated.stdout.split()[-1]
        picked_up = wait_for(lambda: new_kid in published(server), PICKUP_LIMIT)
        moved = wait_for(
            lambda: kid_of(login(server, email)["access_token"]) == new_kid, 15
        )
        old_token_status = whoami(server, before["access_token"])
        listed = run_cli("keys", "list", env={**server.env, "COLUMNS": "250"})
        early_purge = server.cli("purge")

        # Let the old key's retirement fall due, as time would, then purge it.
        with sqlite3.connect(database_path(tmp_path)) as db:
            db.execute(
                "UPDATE signing_keys SET retire_after = '2000-01-01 00:00:00' "
                "WHERE kid = ?",
                (old_kid,),
            )
        late_purge = server.cli("purge")
        unpublished = wait_for(lambda: old_kid not in published(server), PICKUP_LIMIT)

    assert rotated.returncode == 0, rotated.stderr
    assert new_kid != old_kid
    assert picked_up
    assert moved
    assert old_token_status == 200
    assert old_kid in listed.stdout and new_kid in listed.stdout
    assert "0 signing keys" in early_purge.stdout
    assert "1 signing keys" in late_purge.stdout
    assert unpublished


def test_key_encryption_secret_is_required_and_checked(tmp_path: Path) -> None:
    """Keys are stored encrypted; a wrong or missing secret is a one-line exit 1."""
    secret = "the right key-encryption secret"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TOKENWARD_")},
        **setting_env(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}",
            key_encryption_secret=secret,
        ),
    }
    created = run_cli("keys", "list", env=env)
    wrong = run_cli(
        "keys", "list", env={**env, "TOKENWARD_KEY_ENCRYPTION_SECRET": "not it at all"}
    )
    unset = {k: v for k, v in env.items() if k != "TOKENWARD_KEY_ENCRYPTION_SECRET"}
    missing = run_cli("keys", "list", env=unset)
    serve = run_cli(
        "serve",
        "--port",
        "9",
        env={**env, "TOKENWARD_KEY_ENCRYPTION_SECRET": "not it at all"},
    )
    with sqlite3.connect(tmp_path / "keys.db") as db:
        (pem,) = db.execute("SELECT private_key FROM signing_keys").fetchone()

    assert created.returncode == 0, created.stderr
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    for failed in (wrong, missing, serve):
        assert failed.returncode == 1
        assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr
        assert "TOKENWARD_KEY_ENCRYPTION_SECRET" in failed.stderr
        assert "not it at all" not in failed.stderr and secret not in failed.stderr
    assert "is wrong" in wrong.stderr and "is wrong" in serve.stderr
    assert "is not set" in missing.stderr
