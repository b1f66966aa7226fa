"""fastapi-users in its documented configuration, as a benchmark peer.

SQLAlchemy adapter on SQLite through aiosqlite, the JWT strategy and the bearer
transport, with the library's default password helper. Every authenticated request
decodes the JWT and then reads the user row, which is what the library does by design.

``FASTAPI_USERS_DATABASE_URL`` picks the database file; the benchmark points it at a
temporary folder and registers its user through ``POST /auth/register``.
"""

import os
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, schemas
from fastapi_users.authentication import (
    AuthenticationBackend,
    BearerTransport,
    JWTStrategy,
)
from fastapi_users_db_sqlalchemy import (
    SQLAlchemyBaseUserTableUUID,
    SQLAlchemyUserDatabase,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

DATABASE_URL = os.environ.get(
    "FASTAPI_USERS_DATABASE_URL", "sqlite+aiosqlite:///./fastapi_users.db"
)
SECRET = os.environ.get("FASTAPI_USERS_SECRET") or secrets.token_hex(32)


class Base(DeclarativeBase):
    """Declarative root for the one table this app has."""


class User(SQLAlchemyBaseUserTableUUID, Base):
    """The library's stock user table, with a UUID key."""


class UserRead(schemas.BaseUser[uuid.UUID]):
    """Public view of a user."""


class UserCreate(schemas.BaseUserCreate):
    """Registration body: email and password."""


class UserUpdate(schemas.BaseUserUpdate):
    """Fields a user may change."""


engine = create_async_engine(DATABASE_URL)
session_maker = async_sessionmaker(engine, expire_on_commit=False)


async def get_async_session() -> AsyncIterator[AsyncSession]:
    """One session per request, as the library's examples wire it."""
    async with session_maker() as session:
        yield session


async def get_user_db(
    session: AsyncSession = Depends(get_async_session),
) -> AsyncIterator[SQLAlchemyUserDatabase[User, uuid.UUID]]:
    """Wrap the session in the library's SQLAlchemy adapter."""
    yield SQLAlchemyUserDatabase(session, User)


class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
    """Stock manager; only the token secrets are set."""

    reset_password_token_secret = SECRET
    verification_token_secret = SECRET


async def get_user_manager(
    user_db: SQLAlchemyUserDatabase[User, uuid.UUID] = Depends(get_user_db),
) -> AsyncIterator[UserManager]:
    """Hand the routers a manager bound to this request's database adapter."""
    yield UserManager(user_db)


def get_jwt_strategy() -> JWTStrategy[User, uuid.UUID]:
    """HS256 JWTs that live one hour."""
    return JWTStrategy(secret=SECRET, lifetime_seconds=3600)


auth_backend = AuthenticationBackend(
    name="jwt",
    transport=BearerTransport(tokenUrl="auth/jwt/login"),
    get_strategy=get_jwt_strategy,
)
fastapi_users = FastAPIUsers[User, uuid.UUID](get_user_manager, [auth_backend])


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    """Create the table on start, as the library's example does without migrations."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
app.include_router(fastapi_users.get_auth_router(auth_backend), prefix="/auth/jwt")
app.include_router(
    fastapi_users.get_register_router(UserRead, UserCreate), prefix="/auth"
)
app.include_router(fastapi_users.get_users_router(UserRead, UserUpdate), prefix="/users")


@app.get("/ping")
async def ping() -> dict[str, str]:
    """The cheapest route of this app, for a same-process ceiling."""
    return {"status": "ok"}
