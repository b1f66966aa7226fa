"""The cookie transport: log in, refresh and log out with HttpOnly cookies.

The same login, refresh and logout as the JSON routes, answered with cookies instead
of a body, so a browser script never holds a token. See `http/browser.py` for the
cookies themselves and the CSRF rules.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel

from tokenward.core import TokenPair, Tokenward
from tokenward.errors import AuthenticationError, InvalidToken, RefreshRotated
from tokenward.http.browser import CSRF_HEADER, BrowserCookies
from tokenward.http.deps import ClientDep, HttpsDep, TokenwardDep
from tokenward.http.errors import error_response
from tokenward.http.schemas import ErrorResponse, LoginRequest, error_responses
from tokenward.sessions import ClientInfo
from tokenward.store.records import Session
from tokenward.tokens import AccessClaims

# `address_limit.AddressLimit` counts every route here against the per-address limit.
router = APIRouter(
    prefix="/auth/cookie",
    tags=["cookies"],
    responses=error_responses(413, 422, 429, 503),
)
_401 = {401: {"model": ErrorResponse}}
_403 = {403: {"model": ErrorResponse}}


class CsrfTokenResponse(BaseModel):
    csrf_token: str


def browser_cookies(
    request: Request, tokenward: TokenwardDep, https: HttpsDep
) -> BrowserCookies:
    return BrowserCookies(request, tokenward.settings, https)


CookiesDep = Annotated[BrowserCookies, Depends(browser_cookies)]


@router.post(
    "/login",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_401, **_403, 429: {"model": ErrorResponse}},
)
async def cookie_login(
    body: LoginRequest,
    tokenward: TokenwardDep,
    client: ClientDep,
    cookies: CookiesDep,
) -> Response:
    """Log in; the tokens go into cookies, and the CSRF token into a header too."""
    # No session yet to bind a token to: a foreign origin is what gives login CSRF away.
    cookies.check_origin()
    pair = await tokenward.login(body.email, body.password, client, body.device_name)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    cookies.write(response, pair, tokenward.csrf.token_for(pair.session_id))
    return response


@router.post(
    "/refresh", status_code=status.HTTP_204_NO_CONTENT, responses={**_401, **_403}
)
async def cookie_refresh(
    request: Request,
    tokenward: TokenwardDep,
    client: ClientDep,
    cookies: CookiesDep,
) -> Response:
    """Rotate the refresh cookie; needs the CSRF header.

    A refused refresh token clears the cookies, except one just rotated by a parallel
    request (another tab), whose answer has already set the newer ones.
    """
    submitted = request.headers.get(CSRF_HEADER)
    try:
        pair = await rotate_cookies(tokenward, cookies, client, submitted)
    except RefreshRotated:
        raise
    except AuthenticationError as exc:
        failure = error_response(exc)
        cookies.clear(failure)
        return failure
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    cookies.write(response, pair, tokenward.csrf.token_for(pair.session_id))
    return response


async def rotate_cookies(
    tokenward: Tokenward,
    cookies: BrowserCookies,
    client: ClientInfo,
    submitted: str | None,
) -> TokenPair:
    """Spend the refresh cookie after the origin and the session-bound CSRF checks."""
    cookies.check_origin()
    token = cookies.refresh_token
    if token is None:
        raise InvalidToken("There is no refresh cookie.")

    def guard(session: Session) -> None:
        tokenward.csrf.check(session.id, submitted, cookies.csrf_token)

    return await tokenward.refresh(token, client, guard)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=_403)
async def cookie_logout(
    request: Request,
    tokenward: TokenwardDep,
    client: ClientDep,
    cookies: CookiesDep,
) -> Response:
    """Revoke the cookies' session and clear them; needs the CSRF header."""
    await end_session(tokenward, cookies, client, request.headers.get(CSRF_HEADER))
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    cookies.clear(response)
    return response


async def end_session(
    tokenward: Tokenward,
    cookies: BrowserCookies,
    client: ClientInfo,
    submitted: str | None,
) -> None:
    """Revoke the session the cookies belong to, if it is still alive.

    With an expired access cookie, the refresh cookie still names the session.
    """
    cookies.check_origin()
    claims = _verified(tokenward, cookies.access_token)
    if claims is not None:
        tokenward.csrf.check(claims.sid, submitted, cookies.csrf_token)
        await tokenward.logout(claims, client)
        return
    if cookies.refresh_token is None:
        return
    try:
        pair = await rotate_cookies(tokenward, cookies, client, submitted)
    except AuthenticationError:
        return  # the session is over already
    await tokenward.logout(tokenward.tokens.verify(pair.access_token), client)


def _verified(tokenward: Tokenward, token: str | None) -> AccessClaims | None:
    if token is None:
        return None
    try:
        return tokenward.tokens.verify(token)
    except AuthenticationError:
        return None


@router.get("/csrf", responses=_401)
async def csrf_token(response: Response, cookies: CookiesDep) -> CsrfTokenResponse:
    """The CSRF cookie's value, for a single-page app on another allowed origin.

    Scripts of the server's own origin read the cookie itself; other origins can read
    this answer only when CORS allows them.
    """
    token = cookies.csrf_token
    if token is None:
        raise InvalidToken("There is no CSRF cookie; log in first.")
    response.headers["Cache-Control"] = "no-store"
    return CsrfTokenResponse(csrf_token=token)
