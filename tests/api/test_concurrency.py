"""Many refreshes of one token at once: exactly one wins, on every database."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import PASSWORD, make_settings
from tokenward import Tokenward
from tokenward.errors import AuthenticationError
from tokenward.sessions import ClientInfo

RACERS = 24


@pytest.mark.parametrize("grace", [0, 5])
async def test_concurrent_refreshes_of_one_token_have_one_winner(
    database_url: str, grace: int
) -> None:
    tokenward = Tokenward(
        make_settings(database_url=database_url, refresh_reuse_grace=grace)
    )
    async with tokenward.running():
        user = await tokenward.register("racer@example.com", PASSWORD)
        pair = await tokenward.login("racer@example.com", PASSWORD, ClientInfo())

        results = await asyncio.gather(
            *(tokenward.refresh(pair.refresh_token, ClientInfo()) for _ in range(RACERS)),
            return_exceptions=True,
        )

        winners = [r for r in results if not isinstance(r, BaseException)]
        losers = [r for r in results if isinstance(r, BaseException)]
        assert len(winners) == 1
        assert all(isinstance(r, AuthenticationError) for r in losers), losers
        sessions = await tokenward.store.list_sessions(tokenward.clock.now(), user.id)
        # Within the grace the session survives; with none, the losers look like theft.
        assert len(sessions) == (1 if grace else 0)
