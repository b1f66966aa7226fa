"""Templates and the answers every account page gives: pages, redirects, refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from tokenward.core import Tokenward
from tokenward.errors import CsrfFailed, RateLimited
from tokenward.http.browser import BrowserCookies
from tokenward.web.devices import format_when

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


def foreign_form_refusal(request: Request, cookies: BrowserCookies) -> Response | None:
    """The refusal page when a form was posted from another origin; None when not."""
    try:
        cookies.check_origin(required=True)
    except CsrfFailed:
        return refused(request)
    return None


def refused(request: Request) -> HTMLResponse:
    """The answer to a form from a foreign origin, or with a wrong CSRF token."""
    return render(request, "refused.html", status=403, title="Request refused")


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
