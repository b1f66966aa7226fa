"""The common FastAPI JWT recipe, rebuilt from its public description.

It is the peer that most tutorials lead to: python-jose signs HS256 tokens, passlib
hashes with bcrypt, every handler is ``async def`` and the password check runs right
inside it, on the event loop. Users live in a dict. Nothing here is tuned or slowed:
the point is to measure the recipe as people ship it.

The benchmark sets ``BENCH_USER`` and ``BENCH_PASSWORD`` so that it knows one login.
"""

import os
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from jose import JWTError, jwt
from passlib.context import CryptContext
from pydantic import BaseModel

SECRET_KEY = os.environ.get("RECIPE_SECRET_KEY") or secrets.token_hex(32)
ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE_MINUTES = 30

pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")


class Token(BaseModel):
    """The token response the recipe's clients expect."""

    access_token: str
    token_type: str


class User(BaseModel):
    """What ``/users/me`` returns."""

    username: str
    email: str | None = None
    full_name: str | None = None
    disabled: bool = False


class UserInDB(User):
    """A stored user: the public fields plus the bcrypt hash."""

    hashed_password: str


def _seed_users() -> dict[str, dict[str, object]]:
    """Build the in-memory user table with the one account the benchmark logs into."""
    name = os.environ.get("BENCH_USER", "alice")
    password = os.environ.get("BENCH_PASSWORD") or secrets.token_urlsafe(18)
    return {
        name: {
            "username": name,
            "email": f"{name}@example.com",
            "full_name": name.title(),
            "disabled": False,
            "hashed_password": pwd_context.hash(password),
        }
    }


users_db = _seed_users()
app = FastAPI()


def get_user(username: str) -> UserInDB | None:
    """Look a user up by name in the dict."""
    record = users_db.get(username)
    return UserInDB(**record) if record else None


def authenticate_user(username: str, password: str) -> UserInDB | None:
    """Check the password with bcrypt; synchronous, as in the recipe."""
    user = get_user(username)
    if user is None or not pwd_context.verify(password, user.hashed_password):
        return None
    return user


def create_access_token(data: dict[str, object], expires_delta: timedelta) -> str:
    """Sign an HS256 token with an ``exp`` claim."""
    claims = dict(data)
    claims["exp"] = datetime.now(UTC) + expires_delta
    return jwt.encode(claims, SECRET_KEY, algorithm=ALGORITHM)


async def get_current_user(token: Annotated[str, Depends(oauth2_scheme)]) -> User:
    """Decode the bearer token and load its user, or answer 401."""
    unauthorized = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )
    try:
        payload = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])
    except JWTError as exc:
        raise unauthorized from exc
    username = payload.get("sub")
    user = get_user(username) if isinstance(username, str) else None
    if user is None:
        raise unauthorized
    return user


async def get_current_active_user(
    current_user: Annotated[User, Depends(get_current_user)],
) -> User:
    """Refuse disabled users, as the recipe's second dependency does."""
    if current_user.disabled:
        raise HTTPException(status_code=400, detail="Inactive user")
    return current_user


@app.get("/ping")
async def ping() -> dict[str, str]:
    """The cheapest route of this app, for a same-process ceiling."""
    return {"status": "ok"}


@app.post("/token")
async def login(form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Form login; the bcrypt check blocks the event loop while it runs."""
    user = authenticate_user(form.username, form.password)
    if user is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = create_access_token(
        {"sub": user.username}, timedelta(minutes=ACCESS_TOKEN_EXPIRE_MINUTES)
    )
    return Token(access_token=token, token_type="bearer")


@app.get("/users/me")
async def read_users_me(
    current_user: Annotated[User, Depends(get_current_active_user)],
) -> User:
    """The protected route the benchmark measures."""
    return current_user
