"""The account pages: sign up, sign in, sessions, sign out and password change.

Server-rendered over the cookie transport: every form posts back here, and each
handler calls the same `Tokenward` methods as the API. Forms of a signed-in user
carry the session's CSRF token in a hidden field and must come from an allowed
origin; the sign-in and sign-up forms, which have no session yet, must come from an
allowed origin and say so.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from tokenward.errors import (
    AuthenticationError,
    CsrfFailed,
    EmailTaken,
    InvalidCredentials,
    InvalidRequest,
    NotFound,
    RateLimited,
    RefreshRotated,
    WeakPassword,
)
from tokenward.http.cookies import CookiesDep, end_session, rotate_cookies
from tokenward.http.deps import ClientDep, TokenwardDep
from tokenward.web.access import guarded, signed_in, signed_in_answer
from tokenward.web.devices import describe_device
from tokenward.web.rendering import (
    EmailField,
    PasswordField,
    TokenField,
    foreign_form_refusal,
    redirect,
    refused,
    render,
    too_many,
)

SIGNIN_FAILED = "The email or password is incorrect."
SIGNUP_FAILED = (
    "An account could not be created with these details. If you already have one, "
    "sign in or reset your password."
)
BAD_EMAIL = "Enter an email address such as name@example.com."
_NEXT = re.compile(r"/account(/password)?")

router = APIRouter(include_in_schema=False)


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
    if (refusal := foreign_form_refusal(request, cookies)) is not None:
        return refusal
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
    if (refusal := foreign_form_refusal(request, cookies)) is not None:
        return refusal
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
async def resume_page(
    request: Request,
    cookies: CookiesDep,
    next_path: Annotated[str, Query(alias="next", max_length=64)] = "",
) -> Response:
    """Renew an expired access cookie with the refresh cookie.

    A form, sent by a script when scripts run, posts the CSRF token to the refresh
    cookie's path and comes back to `next`.
    """
    csrf_token = cookies.csrf_token
    if csrf_token is None:
        return redirect("/account/signin")
    target = next_path if _NEXT.fullmatch(next_path) else "/account"
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
    next_path: Annotated[str, Form(alias="next", max_length=64)] = "",
) -> Response:
    target = next_path if _NEXT.fullmatch(next_path) else "/account"
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
