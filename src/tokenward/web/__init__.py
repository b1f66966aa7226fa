"""The account pages: sign up, sign in, sessions, password change and recovery."""

from fastapi import APIRouter

from tokenward.web import pages, recovery, rendering

router = APIRouter(include_in_schema=False)
router.include_router(rendering.router)
router.include_router(pages.router)
router.include_router(recovery.router)

__all__ = ["router"]
