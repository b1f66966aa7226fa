"""tokenward: JWT authentication for FastAPI backends.

Run it as a server (`tokenward serve`), or embed it::

    from fastapi import Depends, FastAPI
    from tokenward import Settings, Tokenward, current_user, install, lifespan_for

    auth = Tokenward(Settings())
    app = FastAPI(lifespan=lifespan_for(auth))
    install(app, auth)
"""

from tokenward.config import Settings
from tokenward.core import TokenPair, Tokenward
from tokenward.http.app import create_app, install, lifespan_for, router
from tokenward.http.deps import current_claims, current_user, require_scopes
from tokenward.tokens import AccessClaims

__all__ = [
    "AccessClaims",
    "Settings",
    "TokenPair",
    "Tokenward",
    "create_app",
    "current_claims",
    "current_user",
    "install",
    "lifespan_for",
    "require_scopes",
    "router",
]
__version__ = "0.1.0"
