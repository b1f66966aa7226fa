"""The `/auth` routes: register, login, refresh, logout, sessions, password change."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response, status

from tokenward.core import TokenPair
from tokenward.http.deps import (
    ClaimsDep,
    ClientDep,
    TokenwardDep,
    current_claims,
)
from tokenward.http.schemas import (
    ErrorResponse,
    LoginRequest,
    PasswordChangeRequest,
    RefreshRequest,
    RegisterRequest,
    SessionResponse,
    TokenPairResponse,
    UserResponse,
    WhoamiResponse,
    error_responses,
)
from tokenward.http.users import user_response

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_401 = error_responses(401)

# `address_limit.AddressLimit` counts every route here against the per-address limit.
router = APIRouter(
    prefix="/auth", tags=["auth"], responses=error_responses(413, 422, 429, 503)
)


def token_response(pair: TokenPair, response: Response) -> TokenPairResponse:
    response.headers.update(NO_STORE)
    return TokenPairResponse(
        access_token=pair.access_token,
        token_type=pair.token_type,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        refresh_expires_in=pair.refresh_expires_in,
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
async def register(body: RegisterRequest, tokenward: TokenwardDep) -> UserResponse:
    user = await tokenward.register(body.email, body.password)
    return user_response(user)


@router.post("/login", responses=error_responses(401, challenge=False))
async def login(
    body: LoginRequest, response: Response, tokenward: TokenwardDep, client: ClientDep
) -> TokenPairResponse:
    pair = await tokenward.login(body.email, body.password, client, body.device_name)
    return token_response(pair, response)


@router.post("/refresh", responses=_401)
async def refresh(
    body: RefreshRequest, response: Response, tokenward: TokenwardDep, client: ClientDep
) -> TokenPairResponse:
    pair = await tokenward.refresh(body.refresh_token, client)
    return token_response(pair, response)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=_401)
async def logout(claims: ClaimsDep, tokenward: TokenwardDep, client: ClientDep) -> None:
    await tokenward.logout(claims, client)


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=_401)
async def logout_all(
    claims: ClaimsDep, tokenward: TokenwardDep, client: ClientDep
) -> None:
    await tokenward.logout_all(claims, client)


@router.get("/sessions", responses=_401)
async def list_sessions(
    claims: ClaimsDep, tokenward: TokenwardDep
) -> list[SessionResponse]:
    sessions = await tokenward.list_sessions(claims.sub)
    return [
        SessionResponse(
            id=s.id,
            created_at=s.created_at,
            last_used_at=s.last_used_at,
            expires_at=tokenward.sessions.expires_at(s),
            ip=s.ip,
            user_agent=s.user_agent,
            device_name=s.device_name,
            current=s.id == claims.sid,
        )
        for s in sessions
    ]


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_401, 404: {"model": ErrorResponse}},
)
async def revoke_session(
    session_id: str, claims: ClaimsDep, tokenward: TokenwardDep, client: ClientDep
) -> None:
    await tokenward.revoke_session(session_id, claims, client)


@router.post(
    "/password/change",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, challenge=False),
)
async def change_password(
    body: PasswordChangeRequest,
    claims: ClaimsDep,
    tokenward: TokenwardDep,
    client: ClientDep,
) -> None:
    await tokenward.change_password(
        claims, body.current_password, body.new_password, client
    )


@router.get(
    "/whoami",
    response_model=WhoamiResponse,
    responses=_401,
    openapi_extra={"security": [{"BearerToken": []}]},
)
async def whoami(request: Request) -> Response:
    """The verified token's own claims; answered without reading the database."""
    # The cheapest protected route: the same check as `ClaimsDep`, called in the
    # body to skip FastAPI's per-dependency cost, and four fields encoded directly.
    claims = await current_claims(request)
    body = {
        "sub": claims.sub,
        "sid": claims.sid,
        "scope": claims.scope,
        "exp": claims.exp,
    }
    return Response(_compact_json(body), media_type="application/json")


_compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
