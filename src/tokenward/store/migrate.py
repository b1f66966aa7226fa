"""Apply the Alembic migrations from inside the package, without an alembic.ini."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from tokenward.store.sql import _storage_errors, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"
POSTGRES_MIGRATION_LOCK = 7_362_041  # any constant; the advisory lock's name


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to call from several processes at once."""
    engine = create_engine(url)
    try:
        with _storage_errors():
            async with engine.begin() as conn:
                await conn.run_sync(_upgrade, revision)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        # Instances starting together take turns; the later ones find nothing to do.
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": POSTGRES_MIGRATION_LOCK}
        )
    command.upgrade(alembic_config(connection), revision)
