"""CSRF defences for cookie-authenticated requests: a session-bound token and origins.

The token is a double-submit value bound to the login session: an HMAC of the session
id under a server key kept in the database, so every instance computes the same token
and none needs a database read to check it. A token planted by someone who can write
cookies but does not know the key fits no session but their own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from tokenward.clock import Clock
from tokenward.errors import CsrfFailed
from tokenward.store.base import Store

SECRET_NAME = "csrf"
_CONTEXT = b"tokenward csrf v1\x00"
MAX_TOKEN_LENGTH = 128


class CsrfTokens:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._key: bytes | None = None

    async def load(self) -> None:
        """Fetch the shared key, creating it on the very first start."""
        self._key = await self.store.server_secret(
            SECRET_NAME, secrets.token_bytes(32), self.clock.now()
        )

    def token_for(self, session_id: str) -> str:
        if self._key is None:
            raise RuntimeError("CsrfTokens.load() has not run")
        mac = hmac.new(self._key, _CONTEXT + session_id.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    def check(self, session_id: str, submitted: str | None, cookie: str | None) -> None:
        """The submitted token must equal the cookie, and both belong to the session."""
        if not submitted or not cookie:
            raise CsrfFailed("The CSRF token is missing.")
        if len(submitted) > MAX_TOKEN_LENGTH or len(cookie) > MAX_TOKEN_LENGTH:
            raise CsrfFailed("The CSRF token is malformed.")
        expected = self.token_for(session_id).encode()
        same = hmac.compare_digest(submitted.encode(), cookie.encode())
        if not (same and hmac.compare_digest(submitted.encode(), expected)):
            raise CsrfFailed("The CSRF token does not match this session.")


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL, lower-cased; None when it has none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None  # no browser sends userinfo in an Origin; refuse, don't strip it
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    suffix = f":{port}" if port is not None and port != default else ""
    return f"{parts.scheme}://{host}{suffix}"


def check_origin(
    origin: str | None,
    referer: str | None,
    allowed: Iterable[str],
    *,
    required: bool = False,
) -> None:
    """Refuse a request whose `Origin` (or else `Referer`) is not an allowed origin.

    Browsers send `Origin` on every cross-origin and every form POST, so a missing
    header means a non-browser client, which cookies do not follow; `required` refuses
    it anyway where no other token protects the request (sign-in forms). An `Origin`
    of `null` (sandboxed frames, `Referrer-Policy: no-referrer` pages) is refused.
    """
    claimed = origin if origin is not None else referer
    if claimed is None:
        if required:
            raise CsrfFailed("The request does not say where it came from.")
        return
    candidate = origin_of(claimed)
    if candidate is None or candidate not in {o for o in map(origin_of, allowed) if o}:
        raise CsrfFailed("The request came from an origin that is not allowed.")
