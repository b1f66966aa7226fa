"""Run tokenward as its own service, configured in code instead of the environment.

    python examples/standalone.py

is the same as `tokenward serve` with these settings; in production prefer the CLI and
environment variables.
"""

import asyncio

import uvicorn

from tokenward import Settings, create_app
from tokenward.store.migrate import upgrade

settings = Settings(
    database_url="sqlite+aiosqlite:///./standalone.db",
    issuer="http://127.0.0.1:8000",
    access_ttl=600,
)

if __name__ == "__main__":
    asyncio.run(upgrade(settings.database_url))
    uvicorn.run(create_app(settings), host="127.0.0.1", port=8000)
