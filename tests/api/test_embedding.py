"""tokenward inside someone else's FastAPI app, as `examples/embedded.py` shows."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, FastAPI

from tests.conftest import PASSWORD, bearer, make_settings
from tokenward import Tokenward, current_user, install, lifespan_for, require_scopes
from tokenward.sessions import ClientInfo
from tokenward.store.migrate import upgrade
from tokenward.store.records import User


async def test_host_app_routes_are_protected_by_tokenward(sqlite_url: str) -> None:
    await upgrade(sqlite_url)
    auth = Tokenward(make_settings(database_url=sqlite_url))
    app = FastAPI(lifespan=lifespan_for(auth))
    install(app, auth)

    @app.get("/notes")
    async def notes(user: Annotated[User, Depends(current_user)]) -> list[str]:
        return [user.email]

    @app.get("/admin", dependencies=[Depends(require_scopes("admin"))])
    async def admin() -> str:
        return "ok"

    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://host") as client,
    ):
        await auth.accounts.register("boss@example.com", PASSWORD, scopes=("admin",))
        await auth.accounts.register("staff@example.com", PASSWORD)
        boss = await auth.login("boss@example.com", PASSWORD, ClientInfo())
        staff = await auth.login("staff@example.com", PASSWORD, ClientInfo())

        anonymous = await client.get("/notes")
        mine = await client.get("/notes", headers=bearer(staff.access_token))
        forbidden = await client.get("/admin", headers=bearer(staff.access_token))
        allowed = await client.get("/admin", headers=bearer(boss.access_token))

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "invalid_token")
    assert mine.json() == ["staff@example.com"]
    assert (forbidden.status_code, forbidden.json()["code"]) == (
        403,
        "insufficient_scope",
    )
    assert allowed.json() == "ok"


async def test_install_protects_the_host_app_too(sqlite_url: str) -> None:
    """An embedding app gets the body limit and the security headers on its own routes."""
    await upgrade(sqlite_url)
    auth = Tokenward(make_settings(database_url=sqlite_url))
    app = FastAPI(lifespan=lifespan_for(auth))
    install(app, auth)

    @app.post("/notes")
    async def add_note(note: dict[str, str]) -> int:
        return len(note)

    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://host") as client,
    ):
        small = await client.post("/notes", json={"text": "hello"})
        huge = await client.post("/notes", json={"text": "x" * 200_000})

    assert small.status_code == 200
    assert small.headers["x-content-type-options"] == "nosniff"
    assert (huge.status_code, huge.json()["code"]) == (413, "request_too_large")


def test_the_embedded_example_imports_and_mounts_the_routes() -> None:
    from examples.embedded import app

    paths = set(app.openapi()["paths"])
    assert {"/auth/login", "/users/me", "/notes", "/notes/count"} <= paths
