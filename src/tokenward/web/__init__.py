"""The account pages: sign up, sign in, sessions, password change and recovery."""

from tokenward.web.pages import router

__all__ = ["router"]
