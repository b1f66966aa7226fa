"""One root error, one subclass per failure, and the stable codes clients rely on.

Only the HTTP layer turns these into status codes; the domain raises them and never
returns a boolean that a caller could forget to check.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Machine-readable error codes; part of the public contract."""

    INVALID_REQUEST = "invalid_request"
    INVALID_CREDENTIALS = "invalid_credentials"
    INVALID_TOKEN = "invalid_token"
    TOKEN_EXPIRED = "token_expired"
    TOKEN_REVOKED = "token_revoked"
    REFRESH_REUSED = "refresh_reused"
    REFRESH_ROTATED = "refresh_rotated"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    INVALID_SCOPE = "invalid_scope"
    RATE_LIMITED = "rate_limited"
    WEAK_PASSWORD = "weak_password"
    EMAIL_TAKEN = "email_taken"
    CSRF_FAILED = "csrf_failed"
    NOT_FOUND = "not_found"
    USER_INACTIVE = "user_inactive"
    SERVER_BUSY = "server_busy"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    KEYS_UNAVAILABLE = "keys_unavailable"
    SIGNING_KEY_UNREADABLE = "signing_key_unreadable"


class TokenwardError(Exception):
    """Root of every error tokenward raises on purpose."""

    code: ErrorCode = ErrorCode.INVALID_REQUEST
    detail: str = "The request could not be processed."

    def __init__(self, detail: str | None = None) -> None:
        if detail is not None:
            self.detail = detail
        super().__init__(self.detail)


class InvalidRequest(TokenwardError):
    code = ErrorCode.INVALID_REQUEST
    detail = "The request is malformed."


class InvalidCredentials(TokenwardError):
    code = ErrorCode.INVALID_CREDENTIALS
    detail = "The email or password is incorrect."


class AuthenticationError(TokenwardError):
    """A presented token was refused; answered with 401 and `WWW-Authenticate`."""

    code = ErrorCode.INVALID_TOKEN
    detail = "The token is invalid."


class InvalidToken(AuthenticationError):
    code = ErrorCode.INVALID_TOKEN
    detail = "The token is invalid."


class TokenExpired(AuthenticationError):
    code = ErrorCode.TOKEN_EXPIRED
    detail = "The token has expired."


class TokenRevoked(AuthenticationError):
    code = ErrorCode.TOKEN_REVOKED
    detail = "The token has been revoked."


class RefreshReused(AuthenticationError):
    code = ErrorCode.REFRESH_REUSED
    detail = "The refresh token was already used; the session has been revoked."


class RefreshRotated(AuthenticationError):
    code = ErrorCode.REFRESH_ROTATED
    detail = "The refresh token was just rotated by another request; use the newer one."


class InsufficientScope(TokenwardError):
    code = ErrorCode.INSUFFICIENT_SCOPE
    detail = "The token lacks a scope this route requires."


class RateLimited(TokenwardError):
    code = ErrorCode.RATE_LIMITED
    detail = "Too many requests; try again later."

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class WeakPassword(TokenwardError):
    code = ErrorCode.WEAK_PASSWORD
    detail = "The password is too weak."


class EmailTaken(TokenwardError):
    code = ErrorCode.EMAIL_TAKEN
    detail = "An account with this email already exists."


class InvalidResetToken(TokenwardError):
    """A reset token that is unknown, spent or expired; answered with 400, not 401."""

    code = ErrorCode.INVALID_TOKEN
    detail = "The reset link is invalid or has expired."


class CsrfFailed(TokenwardError):
    code = ErrorCode.CSRF_FAILED
    detail = "The CSRF check failed."


class NotFound(TokenwardError):
    code = ErrorCode.NOT_FOUND
    detail = "Not found."


class UserInactive(AuthenticationError):
    code = ErrorCode.USER_INACTIVE
    detail = "The account is disabled."


class ServerBusy(TokenwardError):
    code = ErrorCode.SERVER_BUSY
    detail = "The server is busy; try again shortly."


class StorageUnavailable(TokenwardError):
    """The database or Redis did not answer: never reported as a bad token."""

    code = ErrorCode.STORAGE_UNAVAILABLE
    detail = "The storage backend is unavailable; try again shortly."


class KeysUnavailable(TokenwardError):
    """A verifier could not fetch the key set it needs: never reported as a bad token."""

    code = ErrorCode.KEYS_UNAVAILABLE
    detail = "The token signing keys could not be fetched; try again shortly."


class SigningKeyUnreadable(TokenwardError):
    """A stored private key cannot be loaded: a wrong or missing encryption secret."""

    code = ErrorCode.SIGNING_KEY_UNREADABLE
    detail = "A stored signing key cannot be read."


class InvalidScope(TokenwardError):
    """A requested scope is malformed, or more than the session was granted."""

    code = ErrorCode.INVALID_SCOPE
    detail = "The requested scope is invalid."
