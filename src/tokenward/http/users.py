"""The `/users` routes."""

from __future__ import annotations

from fastapi import APIRouter, Response

from tokenward.http.deps import UserDep
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


@router.get("/me", response_model=UserResponse, responses=error_responses(401, 503))
async def me(user: UserDep) -> Response:
    # Serialized once by its own model, not validated a second time by the route.
    body = user_response(user).model_dump_json()
    return Response(body, media_type="application/json")
