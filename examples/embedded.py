"""An existing FastAPI app that embeds tokenward for its own login and protected routes.

tokenward db upgrade            # once, against TOKENWARD_DATABASE_URL
uvicorn examples.embedded:app
"""

from typing import Annotated

from fastapi import Depends, FastAPI

from tokenward import (
    AccessClaims,
    Settings,
    Tokenward,
    current_claims,
    current_user,
    install,
    lifespan_for,
    require_scopes,
)
from tokenward.store.records import User

auth = Tokenward(Settings())
app = FastAPI(title="notes", lifespan=lifespan_for(auth))
install(app, auth)


@app.get("/notes")
async def list_notes(user: Annotated[User, Depends(current_user)]) -> list[str]:
    """Needs a valid access token; loads the user record."""
    return [f"first note of {user.email}"]


@app.get("/notes/count")
async def count_notes(claims: Annotated[AccessClaims, Depends(current_claims)]) -> int:
    """Needs a valid access token; no database read at all."""
    return len(claims.sub)


@app.delete("/notes", dependencies=[Depends(require_scopes("notes:admin"))])
async def delete_all_notes() -> None:
    """Only for tokens carrying the `notes:admin` scope (403 otherwise)."""
