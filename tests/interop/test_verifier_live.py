"""The resource-server Verifier, and the example service, against a live server."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD, random_email
from tests.e2e.conftest import Server
from tests.interop.conftest import header_of
from tests.live_server import live_server, wait_for
from tokenward.verifier import Verifier

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).parents[2] / "examples" / "resource_server.py"


def login(server: Server, email: str) -> str:
    response = httpx.post(
        f"{server.base_url}/auth/login",
        json={"email": email, "password": PASSWORD},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def signs_with(server: Server, email: str, kid: str) -> bool:
    return header_of(login(server, email))["kid"] == kid


async def test_verifier_follows_a_cli_rotation(tmp_path: Path) -> None:
    """After `keys rotate`, tokens of the new key verify after one refetch."""
    with live_server(tmp_path, key_refresh_interval=1) as server:
        email = random_email()
        httpx.post(
            f"{server.base_url}/auth/register",
            json={"email": email, "password": PASSWORD},
        )
        async with Verifier(server.base_url, "tokenward") as verifier:
            first = await verifier.verify(login(server, email))
            new_kid = server.cli("keys", "rotate").stdout.split()[-1]
            assert wait_for(lambda: signs_with(server, email, new_kid), 15)
            second = await verifier.verify(login(server, email))

    assert first.sub == second.sub
    assert verifier.fetches == 2
    assert new_kid in verifier.known_kids()


async def test_example_resource_server_accepts_tokenward_tokens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`examples/resource_server.py` serves a token's owner and guards its scope."""
    with live_server(tmp_path) as server:
        monkeypatch.setenv("TOKENWARD_ISSUER", server.base_url)
        example = _load_example()
        email = random_email()
        httpx.post(
            f"{server.base_url}/auth/register",
            json={"email": email, "password": PASSWORD},
        )
        headers = {"Authorization": f"Bearer {login(server, email)}"}

        transport = httpx.ASGITransport(app=example.app)
        async with (
            example.lifespan(example.app),
            httpx.AsyncClient(transport=transport, base_url="http://notes") as client,
        ):
            notes = await client.get("/notes", headers=headers)
            reports = await client.get("/reports", headers=headers)
            anonymous = await client.get("/notes")

    assert notes.status_code == 200
    assert notes.json()["notes"]
    assert reports.status_code == 403
    assert anonymous.status_code == 401


def _load_example():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("resource_server_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
