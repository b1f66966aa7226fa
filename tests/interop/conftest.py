"""A live tokenward server per signing algorithm, shared by the tests of a module."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import PASSWORD, random_email
from tests.e2e.conftest import Server
from tests.live_server import live_server

ALGORITHMS = ["EdDSA", "ES256", "RS256"]


@pytest.fixture(scope="module", params=ALGORITHMS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """`tokenward serve` signing with one algorithm; each module runs all three."""
    directory = tmp_path_factory.mktemp(f"server-{request.param}")
    with live_server(directory, signing_alg=request.param) as running:
        yield running


def register(server: Server, email: str | None = None) -> tuple[str, str]:
    """Create an account on the live server; return its email and password."""
    email = email or random_email()
    response = httpx.post(
        f"{server.base_url}/auth/register",
        json={"email": email, "password": PASSWORD},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return email, PASSWORD


def login(server: Server) -> dict[str, Any]:
    email, password = register(server)
    response = httpx.post(
        f"{server.base_url}/auth/login",
        json={"email": email, "password": password},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def jwks(server: Server) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/.well-known/jwks.json", timeout=10)
    assert response.status_code == 200
    return response.json()


def header_of(token: str) -> dict[str, Any]:
    """The JOSE header of a compact token, unverified."""
    part = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
