"""The recovery pages: ask for a reset link, and choose a new password with it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tokenward.errors import InvalidResetToken, RateLimited, WeakPassword
from tokenward.http.cookies import CookiesDep
from tokenward.http.deps import ClientDep, TokenwardDep
from tokenward.web.rendering import (
    EmailField,
    PasswordField,
    TokenField,
    foreign_form_refusal,
    redirect,
    render,
    too_many,
)

RESET_FAILED = "This reset link is invalid, used or expired. Ask for a new one."
router = APIRouter(include_in_schema=False)


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
    if (refusal := foreign_form_refusal(request, cookies)) is not None:
        return refusal
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
    if (refusal := foreign_form_refusal(request, cookies)) is not None:
        return refusal
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
