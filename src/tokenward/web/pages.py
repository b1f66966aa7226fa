"""The account pages, server-rendered over the cookie transport.

Every form posts back to this router, which calls the same `Tokenward` methods as the
API. Forms of a signed-in user carry the session's CSRF token in a hidden field and
must come from an allowed origin; the sign-in, sign-up and recovery forms, which have
no session yet, must come from an allowed origin and say so.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from tokenward.core import TokenPair, Tokenward
from tokenward.errors import (
    AuthenticationError,
    CsrfFailed,
    EmailTaken,
    InvalidCredentials,
    InvalidRequest,
    InvalidResetToken,
    NotFound,
    RateLimited,
    RefreshRotated,
    TokenExpired,
    WeakPassword,
)
from tokenward.http.browser import BrowserCookies, check_csrf
from tokenward.http.cookies import CookiesDep, end_session, rotate_cookies
from tokenward.http.deps import ClientDep, TokenwardDep
from tokenward.tokens import AccessClaims
from tokenward.web.devices import describe_device, format_when

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["when"] = format_when
STATIC = {
    "style.css": ("text/css", (HERE / "static" / "style.css").read_bytes()),
    "resume.js": ("text/javascript", (HERE / "static" / "resume.js").read_bytes()),
}

CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
NOTICES = {
    "signedout": "You are signed out.",
    "expired": "Your session has ended. Please sign in again.",
    "reset": "Your password has been reset. Sign in with the new one.",
    "password": "Your password has been changed. Your other sessions are signed out.",
    "revoked": "That session is signed out.",
    "sent": "If an account uses that address, a reset link is on its way. "
    "It works once, and not for long.",
}
SIGNIN_FAILED = "The email or password is incorrect."
SIGNUP_FAILED = (
    "An account could not be created with these details. If you already have one, "
    "sign in or reset your password."
)
BAD_EMAIL = "Enter an email address such as name@example.com."
RESET_FAILED = "This reset link is invalid, used or expired. Ask for a new one."
_NEXT = re.compile(r"/account(/password)?")

router = APIRouter(include_in_schema=False)
EmailField = Annotated[str, Form(max_length=320)]
PasswordField = Annotated[str, Form(max_length=4096)]
TokenField = Annotated[str, Form(max_length=128)]


def render(
    request: Request, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    tokenward: Tokenward = request.app.state.tokenward
    notice = NOTICES.get(request.query_params.get("done", ""))
    values = {"issuer": tokenward.settings.issuer, "notice": notice, **context}
    return templates.TemplateResponse(
        request, template, values, status_code=status, headers=PAGE_HEADERS
    )


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303, headers={"Cache-Control": "no-store"})


def refused(request: Request) -> HTMLResponse:
    """The answer to a form from a foreign origin, or with a wrong CSRF token."""
    return render(request, "refused.html", status=403, title="Request refused")


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


def too_many(
    request: Request, template: str, exc: RateLimited, **context: Any
) -> Response:
    error = f"Too many attempts. Try again in {exc.retry_after} seconds."
    response = render(request, template, status=429, error=error, **context)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.get("/account/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC:
        return Response(status_code=404)
    media_type, content = STATIC[name]
    headers = {"Cache-Control": "public, max-age=3600"}
    return Response(content, media_type=media_type, headers=headers)


# Signing up and in


@router.get("/account/signup")
async def signup_page(request: Request) -> Response:
    return render(request, "signup.html", title="Create an account", email="")


@router.post("/account/signup")
async def signup(
    request: Request,
    tokenward: TokenwardDep,
    client: ClientDep,
    cookies: CookiesDep,
    email: EmailField = "",
    password: PasswordField = "",
) -> Response:
    page = {"title": "Create an account", "email": email}
    try:
        cookies.check_origin(required=True)
    except CsrfFailed:
        return refused(request)
    try:
        await tokenward.ratelimiter.hit_address(client.ip)
        await tokenward.register(email, password)
        device = describe_device(client.user_agent)
        pair = await tokenward.login(email, password, client, device)
    except WeakPassword as exc:
        return render(request, "signup.html", 422, error=exc.detail, **page)
    except InvalidRequest:
        return render(request, "signup.html", 422, error=BAD_EMAIL, **page)
    except EmailTaken:
        return render(request, "signup.html", 400, error=SIGNUP_FAILED, **page)
    except RateLimited as exc:
        return too_many(request, "signup.html", exc, **page)
    return signed_in_answer(tokenward, cookies, pair)


@router.get("/account/signin")
async def signin_page(request: Request) -> Response:
    return render(request, "signin.html", title="Sign in", email="")


@router.post("/account/signin")
async def signin(
    request: Request,
    tokenward: TokenwardDep,
    client: ClientDep,
    cookies: CookiesDep,
    email: EmailField = "",
    password: PasswordField = "",
) -> Response:
    page = {"title": "Sign in", "email": email}
    try:
        cookies.check_origin(required=True)
    except CsrfFailed:
        return refused(request)
    try:
        await tokenward.ratelimiter.hit_address(client.ip)
        device = describe_device(client.user_agent)
        pair = await tokenward.login(email, password, client, device)
    except InvalidCredentials:
        return render(request, "signin.html", 401, error=SIGNIN_FAILED, **page)
    except RateLimited as exc:
        return too_many(request, "signin.html", exc, **page)
    return signed_in_answer(tokenward, cookies, pair)


@router.get("/account/resume")
async def resume_page(request: Request, cookies: CookiesDep, next: str = "") -> Response:
    """Renew an expired access cookie: a form (sent by a script when one runs) that
    posts the CSRF token to the refresh cookie's path."""
    csrf_token = cookies.csrf_token
    if csrf_token is None:
        return redirect("/account/signin")
    target = next if _NEXT.fullmatch(next) else "/account"
    return render(
        request, "resume.html", title="Welcome back", csrf_token=csrf_token, next=target
    )


@router.post("/auth/cookie/resume")
async def resume(
    request: Request,
    tokenward: TokenwardDep,
    client: ClientDep,
    cookies: CookiesDep,
    csrf_token: TokenField = "",
    next: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    target = next if _NEXT.fullmatch(next) else "/account"
    try:
        pair = await rotate_cookies(tokenward, cookies, client, csrf_token)
    except CsrfFailed:
        return refused(request)
    except RefreshRotated:
        return redirect(target)  # a parallel request renewed the cookies already
    except AuthenticationError:
        response = redirect("/account/signin?done=expired")
        cookies.clear(response)
        return response
    response = redirect(target)
    cookies.write(response, pair, tokenward.csrf.token_for(pair.session_id))
    return response


# The signed-in user's pages


@router.get("/account")
async def overview(
    request: Request, tokenward: TokenwardDep, cookies: CookiesDep
) -> Response:
    claims = signed_in(tokenward, cookies, "/account")
    if isinstance(claims, Response):
        return claims
    user = await tokenward.store.get_user(claims.sub)
    if user is None or not user.is_active:
        response = redirect("/account/signin?done=signedout")
        cookies.clear(response)
        return response
    sessions = [
        {
            "id": s.id,
            "device": s.device_name or describe_device(s.user_agent) or "Unknown device",
            "ip": s.ip,
            "created_at": s.created_at,
            "last_used_at": s.last_used_at,
            "current": s.id == claims.sid,
        }
        for s in await tokenward.list_sessions(claims.sub)
    ]
    return render(
        request,
        "account.html",
        title="Your account",
        user=user,
        sessions=sessions,
        csrf_token=tokenward.csrf.token_for(claims.sid),
    )


@router.post("/account/sessions/{session_id}/revoke")
async def revoke_session(
    session_id: str,
    tokenward: TokenwardDep,
    client: ClientDep,
    cookies: CookiesDep,
    csrf_token: TokenField = "",
) -> Response:
    claims = guarded(tokenward, cookies, "/account", csrf_token)
    if isinstance(claims, Response):
        return claims
    try:
        await tokenward.revoke_session(session_id, claims, client)
    except NotFound:
        return redirect("/account")  # gone already, or never the caller's
    if session_id != claims.sid:
        return redirect("/account?done=revoked")
    response = redirect("/account/signin?done=signedout")
    cookies.clear(response)
    return response


@router.post("/account/signout")
async def signout(
    request: Request,
    tokenward: TokenwardDep,
    client: ClientDep,
    cookies: CookiesDep,
    csrf_token: TokenField = "",
) -> Response:
    try:
        await end_session(tokenward, cookies, client, csrf_token)
    except CsrfFailed:
        return refused(request)
    response = redirect("/account/signin?done=signedout")
    cookies.clear(response)
    return response


@router.post("/account/signout-everywhere")
async def signout_everywhere(
    tokenward: TokenwardDep,
    client: ClientDep,
    cookies: CookiesDep,
    csrf_token: TokenField = "",
) -> Response:
    claims = guarded(tokenward, cookies, "/account", csrf_token)
    if isinstance(claims, Response):
        return claims
    await tokenward.logout_all(claims, client)
    response = redirect("/account/signin?done=signedout")
    cookies.clear(response)
    return response


@router.get("/account/password")
async def password_page(
    request: Request, tokenward: TokenwardDep, cookies: CookiesDep
) -> Response:
    claims = signed_in(tokenward, cookies, "/account/password")
    if isinstance(claims, Response):
        return claims
    csrf_token = tokenward.csrf.token_for(claims.sid)
    return render(
        request, "password.html", title="Change password", csrf_token=csrf_token
    )


@router.post("/account/password")
async def change_password(
    request: Request,
    tokenward: TokenwardDep,
    client: ClientDep,
    cookies: CookiesDep,
    csrf_token: TokenField = "",
    current_password: PasswordField = "",
    new_password: PasswordField = "",
) -> Response:
    claims = guarded(tokenward, cookies, "/account/password", csrf_token)
    if isinstance(claims, Response):
        return claims
    page = {"title": "Change password", "csrf_token": csrf_token}
    try:
        await tokenward.change_password(claims, current_password, new_password, client)
    except InvalidCredentials:
        error = "The current password is incorrect."
        return render(request, "password.html", 400, error=error, **page)
    except WeakPassword as exc:
        return render(request, "password.html", 422, error=exc.detail, **page)
    return redirect("/account?done=password")


# Recovery


@router.get("/account/forgot")
async def forgot_page(request: Request) -> Response:
    return render(request, "forgot.html", title="Forgot your password?", email="")


@router.post("/account/forgot")
async def forgot(
    request: Request,
    tokenward: TokenwardDep,
    client: ClientDep,
    cookies: CookiesDep,
    email: EmailField = "",
) -> Response:
    page = {"title": "Forgot your password?", "email": email}
    try:
        cookies.check_origin(required=True)
    except CsrfFailed:
        return refused(request)
    try:
        await tokenward.ratelimiter.hit_address(client.ip)
    except RateLimited as exc:
        return too_many(request, "forgot.html", exc, **page)
    tokenward.recovery.forgot(email, client)
    return redirect("/account/forgot?done=sent")


@router.get("/account/reset")
async def reset_page(request: Request, token: str = "") -> Response:
    error = None if token else "This reset link is incomplete. Ask for a new one."
    return render(
        request, "reset.html", title="Choose a new password", token=token, error=error
    )


@router.post("/account/reset")
async def reset(
    request: Request,
    tokenward: TokenwardDep,
    client: ClientDep,
    cookies: CookiesDep,
    token: TokenField = "",
    new_password: PasswordField = "",
) -> Response:
    page = {"title": "Choose a new password", "token": token}
    try:
        cookies.check_origin(required=True)
    except CsrfFailed:
        return refused(request)
    try:
        await tokenward.ratelimiter.hit_address(client.ip)
        await tokenward.recovery.reset(token, new_password, client)
    except WeakPassword as exc:
        return render(request, "reset.html", 422, error=exc.detail, **page)
    except InvalidResetToken:
        return render(request, "reset.html", 400, error=RESET_FAILED, **page)
    except RateLimited as exc:
        return too_many(request, "reset.html", exc, **page)
    response = redirect("/account/signin?done=reset")
    cookies.clear(response)
    return response
