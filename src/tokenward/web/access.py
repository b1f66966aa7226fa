"""Who is signed in on an account page, and the CSRF check of their forms."""

from __future__ import annotations

from fastapi.responses import Response

from tokenward.core import TokenPair, Tokenward
from tokenward.errors import AuthenticationError, CsrfFailed, TokenExpired
from tokenward.http.browser import BrowserCookies, check_csrf
from tokenward.tokens import AccessClaims
from tokenward.web.rendering import redirect, refused


def signed_in(
    tokenward: Tokenward, cookies: BrowserCookies, here: str
) -> AccessClaims | Response:
    """The claims of the access cookie, or where to send a visitor without one.

    An expired access cookie (which the browser drops) while the CSRF cookie is still
    there means the session may live on: resume it with the refresh cookie.
    """
    token = cookies.access_token
    if token is not None:
        try:
            return tokenward.tokens.verify(token)
        except TokenExpired:
            pass
        except AuthenticationError:
            response = redirect("/account/signin?done=signedout")
            cookies.clear(response)
            return response
    if cookies.csrf_token is not None:
        return redirect(f"/account/resume?next={here}")
    return redirect("/account/signin")


def guarded(
    tokenward: Tokenward, cookies: BrowserCookies, here: str, csrf_token: str
) -> AccessClaims | Response:
    """`signed_in`, plus the CSRF check every signed-in form must pass."""
    claims = signed_in(tokenward, cookies, here)
    if isinstance(claims, Response):
        return claims
    try:
        check_csrf(cookies, tokenward.csrf, claims.sid, csrf_token)
    except CsrfFailed:
        return refused(cookies.request)
    return claims


def signed_in_answer(
    tokenward: Tokenward, cookies: BrowserCookies, pair: TokenPair
) -> Response:
    response = redirect("/account")
    cookies.write(response, pair, tokenward.csrf.token_for(pair.session_id))
    return response
