"""The OAuth 2 grants (RFC 6749) and token revocation (RFC 7009) over `Tokenward`.

They run the same login and refresh as the JSON routes; only the parameters and the
shape of the answers differ, and the transport in `http/oauth.py` owns the shape.
"""

from __future__ import annotations

import logging
import re
from typing import Literal

from tokenward.core import TokenPair, Tokenward
from tokenward.errors import (
    AuthenticationError,
    InvalidScope,
    InvalidToken,
    TokenExpired,
    TokenRevoked,
)
from tokenward.events import log_event
from tokenward.sessions import ClientInfo

logger = logging.getLogger("tokenward.auth")

# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
MAX_SCOPE_LENGTH = 1024
TokenHint = Literal["access_token", "refresh_token"]


def parse_scope(raw: str | None) -> str | None:
    """A requested scope, normalized to single spaces; None when none was asked for."""
    if raw is None:
        return None
    if len(raw) > MAX_SCOPE_LENGTH:
        raise InvalidScope("The scope parameter is too long.")
    tokens = [token for token in raw.split(" ") if token]
    if not tokens:
        return None  # RFC 6749 section 3.1: an empty parameter counts as omitted
    if not all(_SCOPE_TOKEN.fullmatch(token) for token in tokens):
        raise InvalidScope("The scope parameter is malformed.")
    return " ".join(dict.fromkeys(tokens))


async def password_grant(
    tokenward: Tokenward,
    username: str,
    password: str,
    scope: str | None,
    client: ClientInfo,
) -> TokenPair:
    """Log in; of the requested scopes, those the user holds are granted."""
    return await tokenward.login(username, password, client, scope=parse_scope(scope))


async def refresh_grant(
    tokenward: Tokenward, refresh_token: str, scope: str | None, client: ClientInfo
) -> TokenPair:
    """Refresh; a requested scope must lie within the session's grant (RFC 6749 s6)."""
    return await tokenward.refresh(refresh_token, client, scope=parse_scope(scope))


async def revoke_token(
    tokenward: Tokenward, token: str, hint: str | None, client: ClientInfo
) -> bool:
    """Revoke the session a token belongs to; False when there was nothing to revoke.

    An access token cannot be revoked alone (it carries no state to strike out), so
    revoking one revokes its session, as logout does. The hint only orders the search.
    """
    order: tuple[TokenHint, ...] = ("access_token", "refresh_token")
    if hint == "refresh_token":
        order = ("refresh_token", "access_token")
    for kind in order:
        try:
            if kind == "access_token":
                await _revoke_access_token(tokenward, token, client)
            else:
                await _revoke_refresh_token(tokenward, token, client)
            return True
        except (TokenExpired, TokenRevoked):
            return False
        except AuthenticationError:
            continue
    return False


async def _revoke_access_token(
    tokenward: Tokenward, token: str, client: ClientInfo
) -> None:
    claims = tokenward.tokens.verify(token)
    await tokenward.sessions.revoke(claims.sid, "token_revoked")
    _log(claims.sub, claims.sid, "access_token", client)


async def _revoke_refresh_token(
    tokenward: Tokenward, token: str, client: ClientInfo
) -> None:
    if not token:
        raise InvalidToken()
    session = await tokenward.sessions.revoke_by_refresh_token(token, "token_revoked")
    _log(session.user_id, session.id, "refresh_token", client)


def _log(user_id: str, session_id: str, kind: str, client: ClientInfo) -> None:
    log_event(
        "token_revoked",
        logger=logger,
        user_id=user_id,
        session_id=session_id,
        token_type=kind,
        ip=client.ip,
    )
