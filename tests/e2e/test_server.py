"""The README's walkthrough and the CLI against a real server process."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery staple"
README = Path(__file__).parents[2] / "README.md"


def test_walkthrough_over_http(server: Server) -> None:
    """register, login, me, refresh, logout, and the old token dies, over loopback."""
    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        assert (
            http.post(
                "/auth/register",
                json={"email": "alice@example.com", "password": PASSWORD},
            ).status_code
            == 201
        )
        pair = http.post(
            "/auth/login",
            json={
                "email": "alice@example.com",
                "password": PASSWORD,
                "device_name": "e2e",
            },
        ).json()
        auth = {"Authorization": f"Bearer {pair['access_token']}"}
        assert http.get("/users/me", headers=auth).json()["email"] == "alice@example.com"

        pair = http.post(
            "/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        ).json()
        auth = {"Authorization": f"Bearer {pair['access_token']}"}
        assert http.post("/auth/logout", headers=auth).status_code == 204

        after = http.get("/auth/whoami", headers=auth)
        assert (after.status_code, after.json()["code"]) == (401, "token_revoked")

    log = server.log.read_text()
    assert "event=login_succeeded" in log and "event=logout" in log
    assert PASSWORD not in log and pair["refresh_token"] not in log


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq"
)
def test_readme_curl_walkthrough_runs_as_written(server: Server) -> None:
    """The shell block in the README, pointed at this server, ends with a 401."""
    block = re.search(
        r"## Walkthrough with curl.*?```sh\n(.*?)```", README.read_text(), re.S
    )
    assert block is not None
    script = block.group(1).replace("http://127.0.0.1:8000", server.base_url)

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert '"email":"alice@example.com"' in result.stdout
    assert "204" in result.stdout
    assert '"code":"token_revoked"' in result.stdout


def test_cli_manages_users_sessions_and_keys(server: Server) -> None:
    created = server.cli(
        "users", "create", "ops@example.com", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert created.returncode == 0, created.stderr
    assert "ops@example.com" in server.cli("users", "list").stdout

    with httpx.Client(base_url=server.base_url, timeout=10) as http:
        pair = http.post(
            "/auth/login", json={"email": "ops@example.com", "password": PASSWORD}
        ).json()
        auth = {"Authorization": f"Bearer {pair['access_token']}"}
        sid = http.get("/auth/whoami", headers=auth).json()["sid"]

        assert sid in server.cli("sessions", "list", "--user", "ops@example.com").stdout
        revoked = server.cli("sessions", "revoke", sid)
        assert revoked.returncode == 0, revoked.stderr

        # Another process revoked it: the server learns through its feed within a second.
        deadline = 20
        while http.get("/auth/whoami", headers=auth).status_code == 200 and deadline:
            deadline -= 1
            time.sleep(0.1)
        assert http.get("/auth/whoami", headers=auth).status_code == 401

        before = http.get("/.well-known/jwks.json").json()["keys"]
        rotated = server.cli("keys", "rotate")
        assert rotated.returncode == 0, rotated.stderr
        assert "generation" in server.cli("keys", "list").stdout

    disabled = server.cli("users", "disable", "ops@example.com")
    assert disabled.returncode == 0
    purge = server.cli("purge")
    assert purge.returncode == 0 and "purged" in purge.stdout
    assert len(before) == 1


def test_cli_failures_are_one_line_with_status_1(server: Server) -> None:
    missing = server.cli("users", "disable", "nobody@example.com")
    weak = server.cli(
        "users", "create", "weak@example.com", "--password-stdin", stdin="short\n"
    )
    usage = server.cli("sessions", "revoke")

    assert (missing.returncode, weak.returncode, usage.returncode) == (1, 1, 2)
    assert missing.stderr.strip().count("\n") == 0
    assert "at least 15" in weak.stderr


def test_production_refuses_unsafe_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENWARD_")}
    env["TOKENWARD_ENV"] = "production"
    result = subprocess.run(
        [sys.executable, "-m", "tokenward", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.startswith("error: refusing to start:")
    assert result.stderr.strip().count("\n") == 0
