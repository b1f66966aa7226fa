"""The application factory, and `install` for embedding tokenward in an existing app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI

from tokenward.config import Settings
from tokenward.core import Tokenward
from tokenward.http import auth, cookies, health, oauth, recovery, users, wellknown
from tokenward.http.address_limit import AddressLimit
from tokenward.http.browser import install_cors
from tokenward.http.errors import install_error_handlers
from tokenward.http.headers import SecurityHeaders
from tokenward.http.limits import InputLimits
from tokenward.passwords import return_hash_buffers_to_os
from tokenward.web import router as account_pages

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]

ROUTERS = (
    auth.router,
    oauth.router,
    cookies.router,
    recovery.router,
    users.router,
    wellknown.router,
    health.router,
)
router = APIRouter()
for _part in ROUTERS:
    router.include_router(_part)


def install(app: FastAPI, tokenward: Tokenward, *, protect: bool = True) -> None:
    """Add tokenward's routes, error answers and the `/auth` address limit to `app`.

    With `protect` (the default), the whole app also gets the request body limits and
    the security headers; pass False to arrange middleware yourself. The app's
    lifespan must run `tokenward.running()` (see `lifespan_for`).
    """
    app.state.tokenward = tokenward
    install_error_handlers(app)
    app.add_middleware(AddressLimit, tokenward=tokenward, exempt=oauth.COUNTS_ITSELF)
    # One level of routers, not two: each level costs every request a matching pass.
    for part in ROUTERS:
        app.include_router(part)
    if protect:
        add_protections(app, tokenward.settings)


def add_protections(app: FastAPI, settings: Settings, cors: bool = False) -> None:
    """Body limits, then CORS, then security headers outermost, so that every
    answer, a CORS preflight or a 413 included, carries the headers."""
    app.add_middleware(InputLimits, max_body_size=settings.max_body_size)
    if cors:
        install_cors(app, settings)
    app.add_middleware(SecurityHeaders, hsts=settings.is_production)


def lifespan_for(tokenward: Tokenward) -> Lifespan:
    """A FastAPI lifespan that starts and stops `tokenward` with the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.tokenward = tokenward
        async with tokenward.running():
            yield

    return lifespan


def create_app(
    settings: Settings | None = None, tokenward: Tokenward | None = None
) -> FastAPI:
    """The standalone tokenward server (each worker process builds its own)."""
    return_hash_buffers_to_os()
    tokenward = tokenward or Tokenward(settings)
    app = FastAPI(
        title="tokenward",
        summary="JWT authentication: sessions, rotating refresh tokens, revocation.",
        version="0.1.0",
        lifespan=lifespan_for(tokenward),
    )
    install(app, tokenward, protect=False)
    app.include_router(account_pages)
    add_protections(app, tokenward.settings, cors=True)
    return app
