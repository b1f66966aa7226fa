"""OAuth 2 transport: the token endpoint (RFC 6749) and revocation (RFC 7009).

Form-encoded requests, RFC-shaped answers: `{"error", "error_description"}` instead of
the `{detail, code}` of the JSON routes, so that standard clients, and the Swagger UI's
"Authorize" button, understand them. There is no client registry: `client_id` and
client credentials are accepted and ignored, as for any public client.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tokenward import errors as e
from tokenward.grants import password_grant, refresh_grant, revoke_token
from tokenward.http.auth import NO_STORE
from tokenward.http.deps import ClientDep, TokenwardDep, limit_address
from tokenward.jws import MAX_TOKEN_LENGTH

router = APIRouter(prefix="/auth", tags=["oauth"])
# These count against the per-address limit themselves, to answer 429 the RFC way.
COUNTS_ITSELF = frozenset({"/auth/token", "/auth/revoke"})


class OAuthTokenResponse(BaseModel):
    """RFC 6749 section 5.1, with the refresh token's lifetime as an extra member."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    scope: str


class OAuthErrorResponse(BaseModel):
    """RFC 6749 section 5.2."""

    error: str
    error_description: str


TOKEN_PARAMETERS = ("grant_type", "username", "password", "scope", "refresh_token")
MAX_PARAMETER_LENGTH = 4096
_ERRORS = {400: {"model": OAuthErrorResponse}}
FormText = Annotated[str | None, Form()]


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error, raised and answered inside this module only."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.headers: dict[str, str] = {}


@router.post("/token", response_model=OAuthTokenResponse, responses=_ERRORS)
async def token(
    request: Request,
    tokenward: TokenwardDep,
    client: ClientDep,
    grant_type: FormText = None,
    username: FormText = None,
    password: FormText = None,
    scope: FormText = None,
    refresh_token: FormText = None,
    client_id: FormText = None,
) -> Response:
    """RFC 6749 token endpoint: the `password` and `refresh_token` grants."""
    try:
        await _check_form(request, TOKEN_PARAMETERS)
        await limit_address(tokenward, client)
        if grant_type == "password":
            user, secret = (
                _required(username, "username"),
                _required(password, "password"),
            )
            pair = await password_grant(tokenward, user, secret, scope, client)
        elif grant_type == "refresh_token":
            presented = _required(refresh_token, "refresh_token")
            pair = await refresh_grant(tokenward, presented, scope, client)
        elif grant_type:
            raise OAuthError(
                "unsupported_grant_type", "Use 'password' or 'refresh_token'."
            )
        else:
            raise OAuthError("invalid_request", "The 'grant_type' parameter is missing.")
    except (OAuthError, e.TokenwardError) as exc:
        return _error_response(exc)

    body = OAuthTokenResponse(
        access_token=pair.access_token,
        token_type=pair.token_type,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        refresh_expires_in=pair.refresh_expires_in,
        scope=pair.scope,
    )
    return JSONResponse(body.model_dump(), headers=NO_STORE)


@router.post("/revoke", responses=_ERRORS, response_class=Response)
async def revoke(
    request: Request,
    tokenward: TokenwardDep,
    client: ClientDep,
    token: FormText = None,
    token_type_hint: FormText = None,
    client_id: FormText = None,
) -> Response:
    """RFC 7009 revocation: 200 whether or not the token was known.

    A refresh token or an access token ends its whole session, as logout does.
    """
    try:
        # An oversized token is merely unknown: RFC 7009 answers it with 200.
        await _check_form(request, ("token", "token_type_hint"), unlimited=("token",))
        await limit_address(tokenward, client)
        presented = _required(token, "token")
        if len(presented) <= MAX_TOKEN_LENGTH:
            await revoke_token(tokenward, presented, token_type_hint, client)
    except (OAuthError, e.TokenwardError) as exc:
        return _error_response(exc)
    return Response(status_code=200, headers=NO_STORE)


async def _check_form(
    request: Request, names: tuple[str, ...], unlimited: tuple[str, ...] = ()
) -> None:
    """RFC 6749 section 3.2: no parameter twice; and none absurdly long."""
    form = await request.form()
    for name in names:
        values = form.getlist(name)
        if len(values) > 1:
            raise OAuthError("invalid_request", f"The '{name}' parameter is repeated.")
        if name in unlimited:
            continue
        if values and len(str(values[0])) > MAX_PARAMETER_LENGTH:
            raise OAuthError("invalid_request", f"The '{name}' parameter is too long.")


def _required(value: str | None, name: str) -> str:
    if not value:  # RFC 6749 section 3.1: an empty parameter counts as omitted
        raise OAuthError("invalid_request", f"The '{name}' parameter is missing.")
    return value


def _error_response(exc: OAuthError | e.TokenwardError) -> JSONResponse:
    error = exc if isinstance(exc, OAuthError) else _translate(exc)
    body = {"error": error.error, "error_description": error.description}
    headers = {**NO_STORE, **error.headers}
    return JSONResponse(body, status_code=error.status, headers=headers)


def _translate(exc: e.TokenwardError) -> OAuthError:
    """Map a domain error onto the RFC 6749 error it means to an OAuth client."""
    if isinstance(exc, e.InvalidScope):
        return OAuthError("invalid_scope", exc.detail)
    if isinstance(exc, e.RateLimited):
        error = OAuthError("rate_limited", exc.detail, status=429)
        error.headers["Retry-After"] = str(exc.retry_after)
        return error
    if isinstance(exc, e.ServerBusy | e.StorageUnavailable):
        error = OAuthError("temporarily_unavailable", exc.detail, status=503)
        error.headers["Retry-After"] = "1"
        return error
    if isinstance(exc, e.InvalidCredentials | e.AuthenticationError):
        return OAuthError("invalid_grant", exc.detail)
    if isinstance(exc, e.InvalidRequest):
        # A malformed username is as wrong as an unknown one: same answer.
        return OAuthError("invalid_grant", e.InvalidCredentials.detail)
    return OAuthError("invalid_request", exc.detail)
