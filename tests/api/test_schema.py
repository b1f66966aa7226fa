"""Schemathesis against the OpenAPI schema of a live server on loopback.

Every operation gets a bounded number of generated requests, valid and invalid,
sent once as generated and, where the operation needs a token, once more with a
fresh valid one. No answer may be a 5xx, and every answer must match the schema:
its status, content type, declared headers and body.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import PASSWORD, make_settings, random_email
from tokenward import create_app
from tokenward.store.migrate import upgrade

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


class LiveServer:
    """uvicorn serving a fresh app from a thread, on a port of 127.0.0.1."""

    def __init__(self, database: Path) -> None:
        url = f"sqlite+aiosqlite:///{database}"
        asyncio.run(upgrade(url))
        app = create_app(make_settings(database_url=url))
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        host, port = self.socket.getsockname()
        self.base_url = f"http://{host}:{port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.socket.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("schema") / "schema.db") as server:
        yield server


@pytest.fixture(scope="module")
def account(live_server: LiveServer) -> dict[str, str]:
    """One registered account whose password mints fresh tokens."""
    email = random_email()
    response = httpx.post(
        f"{live_server.base_url}/auth/register",
        json={"email": email, "password": PASSWORD},
    )
    assert response.status_code == 201
    return {"email": email, "password": PASSWORD}


def openapi_document() -> dict[str, Any]:
    """The schema the server publishes, read from an app that is never started.

    It is loaded at import so that each operation is its own test item.
    """
    app = create_app(make_settings())
    app.state.tokenward.hasher.close()
    return app.openapi()


schema = schemathesis.openapi.from_dict(openapi_document())


def fresh_token(base_url: str, account: dict[str, str]) -> str:
    response = httpx.post(f"{base_url}/auth/login", json=account)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_schema_and_never_fails(
    case: schemathesis.Case, live_server: LiveServer, account: dict[str, str]
) -> None:
    """Generated requests get documented answers, and never a server error."""
    case.call_and_validate(base_url=live_server.base_url, checks=CHECKS)

    if case.operation.definition.raw.get("security"):
        token = fresh_token(live_server.base_url, account)
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        case.call_and_validate(base_url=live_server.base_url, checks=CHECKS)
