"""Turn tokenward errors into HTTP answers: a status, a `detail` and a stable `code`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tokenward import errors as e
from tokenward.http.headers import header_pairs

logger = logging.getLogger("tokenward.http")

_STATUS: dict[type[e.TokenwardError], int] = {
    e.InvalidRequest: 422,
    e.InvalidCredentials: 401,
    e.AuthenticationError: 401,
    e.InsufficientScope: 403,
    e.InvalidScope: 400,
    e.RateLimited: 429,
    e.WeakPassword: 422,
    e.EmailTaken: 409,
    e.CsrfFailed: 403,
    e.NotFound: 404,
    e.ServerBusy: 503,
    e.StorageUnavailable: 503,
    e.KeysUnavailable: 503,
    e.SigningKeyUnreadable: 503,
}
_HTTP_CODES = {
    400: "invalid_request",
    401: "invalid_token",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
}


def status_for(error: e.TokenwardError) -> int:
    for cls in type(error).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 400


def error_headers(error: e.TokenwardError) -> dict[str, str]:
    """The headers an answer to `error` carries: RFC 6750 challenges, Retry-After."""
    headers: dict[str, str] = {}
    if isinstance(error, e.AuthenticationError):
        headers["WWW-Authenticate"] = (
            f'Bearer error="invalid_token", error_description="{error.code}"'
        )
    elif isinstance(error, e.InsufficientScope):
        headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope"'
    elif isinstance(error, e.RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    elif isinstance(error, e.ServerBusy | e.StorageUnavailable | e.KeysUnavailable):
        headers["Retry-After"] = "1"
    return headers


def error_response(error: e.TokenwardError) -> JSONResponse:
    if isinstance(error, e.StorageUnavailable):
        logger.warning("storage unavailable: %s", type(error.__cause__).__name__)
    body = {"detail": error.detail, "code": str(error.code)}
    return JSONResponse(body, status_code=status_for(error), headers=error_headers(error))


async def _tokenward_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, e.TokenwardError)
    return error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Only where and what: the rejected input may be a password.
    errors = [
        {
            "loc": list(err.get("loc", ())),
            "msg": err.get("msg", ""),
            "type": err.get("type"),
        }
        for err in exc.errors()
    ]
    body = {
        "detail": "The request is invalid.",
        "code": "invalid_request",
        "errors": errors,
    }
    return JSONResponse(body, status_code=422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    body = {"detail": str(exc.detail), "code": code}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unexpected error: %s", type(exc).__name__, exc_info=exc)
    body = {"detail": "An unexpected error occurred.", "code": "internal_error"}
    # Answered outside every middleware, so the security headers are added here.
    tokenward = getattr(request.app.state, "tokenward", None)
    hsts = tokenward is not None and tokenward.settings.is_production
    headers = {name.decode(): value.decode() for name, value in header_pairs(hsts)}
    return JSONResponse(body, status_code=500, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(e.TokenwardError, _tokenward_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
