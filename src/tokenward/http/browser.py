"""Where tokens travel in a browser: the cookies, their attributes, and the CSRF check.

Three cookies: the access token (HttpOnly, SameSite=Lax, every path), the refresh token
(HttpOnly, SameSite=Strict, only the cookie routes' path) and the CSRF token (readable
by scripts, SameSite=Strict). In production and over https they are Secure, with
`__Host-` names, or `__Secure-` for the refresh cookie whose path is narrower; only
development over plain http sends them without.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Request, Response
from starlette.middleware.cors import CORSMiddleware

from tokenward.config import Settings
from tokenward.core import TokenPair, Tokenward
from tokenward.csrf import CsrfTokens, check_origin, origin_of
from tokenward.errors import InvalidToken
from tokenward.tokens import AccessClaims

REFRESH_PATH = "/auth/cookie"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass(frozen=True, slots=True)
class CookieNames:
    access: str
    refresh: str
    csrf: str


PLAIN_NAMES = CookieNames("tokenward_access", "tokenward_refresh", "tokenward_csrf")
SECURE_NAMES = CookieNames(
    "__Host-tokenward_access", "__Secure-tokenward_refresh", "__Host-tokenward_csrf"
)


class BrowserCookies:
    """The tokenward cookies of one request, and how to write those of its answer.

    Over https only the prefixed names are read, so a cookie planted over plain http
    (which cannot carry those prefixes) is never taken for ours.
    """

    def __init__(self, request: Request, settings: Settings, https: bool) -> None:
        self.request = request
        self.settings = settings
        self.https = https
        self.secure = settings.is_production or https or settings.cookie_secure is True
        self.names = SECURE_NAMES if self.secure else PLAIN_NAMES

    @property
    def access_token(self) -> str | None:
        return self.request.cookies.get(self.names.access) or None

    @property
    def refresh_token(self) -> str | None:
        return self.request.cookies.get(self.names.refresh) or None

    @property
    def csrf_token(self) -> str | None:
        return self.request.cookies.get(self.names.csrf) or None

    def allowed_origins(self) -> list[str]:
        """The configured origins, the issuer's, and the one this request was sent to."""
        own = origin_of(f"{'https' if self.https else 'http'}://{self._host()}")
        return [
            *self.settings.allowed_origins,
            self.settings.issuer,
            *filter(None, [own]),
        ]

    def _host(self) -> str:
        return self.request.headers.get("host", "")

    def check_origin(self, *, required: bool = False) -> None:
        headers = self.request.headers
        check_origin(
            headers.get("origin"),
            headers.get("referer"),
            self.allowed_origins(),
            required=required,
        )

    def write(self, response: Response, pair: TokenPair, csrf_token: str) -> None:
        """Set the three cookies of a fresh token pair; never put a token in a body."""
        common = {"secure": self.secure}
        response.set_cookie(
            self.names.access,
            pair.access_token,
            max_age=pair.expires_in,
            path="/",
            httponly=True,
            samesite="lax",
            **common,
        )
        response.set_cookie(
            self.names.refresh,
            pair.refresh_token,
            max_age=pair.refresh_expires_in,
            path=REFRESH_PATH,
            httponly=True,
            samesite="strict",
            **common,
        )
        response.set_cookie(
            self.names.csrf,
            csrf_token,
            max_age=pair.refresh_expires_in,
            path="/",
            httponly=False,
            samesite="strict",
            **common,
        )
        response.headers[CSRF_HEADER] = csrf_token
        response.headers["Cache-Control"] = "no-store"

    def clear(self, response: Response) -> None:
        response.delete_cookie(
            self.names.access, path="/", secure=self.secure, httponly=True, samesite="lax"
        )
        response.delete_cookie(
            self.names.refresh,
            path=REFRESH_PATH,
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )
        response.delete_cookie(
            self.names.csrf, path="/", secure=self.secure, samesite="strict"
        )
        response.headers["Cache-Control"] = "no-store"


def check_csrf(
    cookies: BrowserCookies,
    csrf: CsrfTokens,
    session_id: str,
    submitted: str | None = None,
) -> None:
    """The full check of a cookie-authenticated, state-changing request."""
    cookies.check_origin()
    if submitted is None:
        submitted = cookies.request.headers.get(CSRF_HEADER)
    csrf.check(session_id, submitted, cookies.csrf_token)


def claims_from_cookie(
    request: Request, tokenward: Tokenward, https: bool
) -> AccessClaims:
    """Verify the access cookie; a state-changing request must also pass CSRF."""
    cookies = BrowserCookies(request, tokenward.settings, https)
    token = cookies.access_token
    if token is None:
        raise InvalidToken("An access token is required.")
    claims = tokenward.tokens.verify(token)
    if request.method not in SAFE_METHODS:
        check_csrf(cookies, tokenward.csrf, claims.sid)
    return claims


def install_cors(app: FastAPI, settings: Settings) -> None:
    """Credentialed CORS for the configured origins only; no origin is reflected."""
    if not settings.allowed_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_credentials=True,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type", CSRF_HEADER],
        expose_headers=[CSRF_HEADER],
        max_age=600,
    )
