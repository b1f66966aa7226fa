"""Password recovery over the API: ask for a reset link, and spend one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from tokenward.http.deps import ClientDep, TokenwardDep
from tokenward.http.schemas import (
    Body,
    Email,
    ErrorResponse,
    Password,
    Text,
    error_responses,
)

# `address_limit.AddressLimit` counts every route here against the per-address limit.
router = APIRouter(
    prefix="/auth/password",
    tags=["auth"],
    responses=error_responses(413, 422, 429, 503),
)
FORGOT_ANSWER = "If an account uses this address, a reset link is on its way."


class ForgotRequest(Body):
    email: Email


class ResetRequest(Body):
    token: Annotated[Text, Field(max_length=128)]
    new_password: Password


class AcceptedResponse(BaseModel):
    detail: str


@router.post(
    "/forgot",
    status_code=status.HTTP_202_ACCEPTED,
    responses={429: {"model": ErrorResponse}},
)
async def forgot(
    body: ForgotRequest, tokenward: TokenwardDep, client: ClientDep
) -> AcceptedResponse:
    """Mail a reset link; the answer is the same whether or not the account exists."""
    tokenward.recovery.forgot(body.email, client)
    return AcceptedResponse(detail=FORGOT_ANSWER)


@router.post(
    "/reset",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={400: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
)
async def reset(
    body: ResetRequest, tokenward: TokenwardDep, client: ClientDep
) -> Response:
    """Set a new password with a reset token; every session of the user ends."""
    await tokenward.recovery.reset(body.token, body.new_password, client)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
