"""The `/users` routes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tokenward.http.deps import current_claims, current_user
from tokenward.http.schemas import UserResponse, error_responses
from tokenward.store.records import User

router = APIRouter(prefix="/users", tags=["users"])


def user_response(user: User) -> UserResponse:
    return UserResponse(
        id=user.id,
        email=user.email,
        created_at=user.created_at,
        is_active=user.is_active,
        is_verified=user.is_verified,
        scopes=list(user.scopes),
    )


@router.get(
    "/me",
    response_model=UserResponse,
    responses=error_responses(401, 503),
    openapi_extra={"security": [{"BearerToken": []}]},
)
async def me(request: Request) -> Response:
    # A hot route: `current_user` and `current_claims` called in the body rather than
    # through Depends (FastAPI's cost per dependency is paid on every request), and
    # the answer serialized once by its own model.
    user = await current_user(await current_claims(request), request)
    body = user_response(user).model_dump_json()
    return Response(body, media_type="application/json")
