"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _clean_text(value: str) -> str:
    """Refuse NUL and lone surrogates: neither can be stored or compared safely."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Text = Annotated[str, AfterValidator(_clean_text)]
Email = Annotated[Text, Field(min_length=3, max_length=320)]
# Long enough for any passphrase; the policy gives the real limits with a clear reason.
Password = Annotated[Text, Field(min_length=1, max_length=4096)]
DeviceName = Annotated[Text, Field(max_length=128)]


class Body(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=False, extra="ignore")


class RegisterRequest(Body):
    email: Email
    password: Password


class LoginRequest(Body):
    email: Email
    password: Password
    device_name: DeviceName | None = None


class RefreshRequest(Body):
    refresh_token: Annotated[Text, Field(max_length=512)]


class PasswordChangeRequest(Body):
    current_password: Password
    new_password: Password


class TokenPairResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class UserResponse(BaseModel):
    id: str
    email: str
    created_at: datetime
    is_active: bool
    is_verified: bool
    scopes: list[str]


class SessionResponse(BaseModel):
    id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    device_name: str | None
    current: bool


class WhoamiResponse(BaseModel):
    sub: str
    sid: str
    scope: str
    exp: int


class ReadinessResponse(BaseModel):
    status: str
    checks: dict[str, str]


class ErrorResponse(BaseModel):
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = Field(
        None, description="Where and what, for invalid input; never the input itself."
    )


_HEADER = {"schema": {"type": "string"}, "required": True}
_HEADERS = {
    401: {"WWW-Authenticate": {**_HEADER, "description": "RFC 6750 challenge"}},
    429: {"Retry-After": {**_HEADER, "description": "seconds to wait"}},
    503: {"Retry-After": {**_HEADER, "description": "seconds to wait"}},
}


def error_responses(*statuses: int, challenge: bool = True) -> dict[int | str, Any]:
    """OpenAPI `responses` for these error statuses, with the headers they carry.

    `challenge=False` leaves out `WWW-Authenticate` on a 401 that answers a password,
    not a token.
    """
    responses: dict[int | str, Any] = {}
    for status in statuses:
        headers = _HEADERS.get(status, {}) if challenge or status != 401 else {}
        responses[status] = {"model": ErrorResponse, "headers": headers}
    return responses
