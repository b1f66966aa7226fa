"""The `tokenward` command: serve, and the operator's tools over the same services."""

from __future__ import annotations

import asyncio
import csv
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from tokenward.config import ConfigurationError, Settings, check_settings
from tokenward.core import Tokenward
from tokenward.errors import TokenwardError
from tokenward.importer import ImportFileError, ImportReport, import_users, read_rows
from tokenward.store.migrate import upgrade

T = TypeVar("T")

app = typer.Typer(help="tokenward: JWT authentication server.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
sessions_app = typer.Typer(help="Login sessions.", no_args_is_help=True)
keys_app = typer.Typer(help="Signing keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(sessions_app, name="sessions")
app.add_typer(keys_app, name="keys")

# Piped into another program, tables keep whole IDs instead of fitting 80 columns.
console = Console(width=None if sys.stdout.isatty() else 240)
errors = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    errors.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(1)


def load_settings() -> Settings:
    try:
        settings = Settings()
        check_settings(settings)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "TOKENWARD_" + "_".join(str(part) for part in first["loc"]).upper()
        raise fail(f"{name}: {first['msg']}") from None
    except ConfigurationError as exc:
        raise fail(f"refusing to start: {exc}") from None
    return settings


def with_tokenward(action: Callable[[Tokenward], Awaitable[T]]) -> T:
    """Run one operator action against a migrated database, failing in one line."""
    settings = load_settings()

    async def run() -> T:
        await upgrade(settings.database_url)
        async with Tokenward(settings).running() as tokenward:
            return await action(tokenward)

    try:
        return asyncio.run(run())
    except TokenwardError as exc:
        raise fail(exc.detail) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    ssl_certfile: Annotated[
        str | None, typer.Option(help="TLS certificate (PEM).")
    ] = None,
    ssl_keyfile: Annotated[
        str | None, typer.Option(help="TLS private key (PEM).")
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request line.")] = False,
) -> None:
    """Run the server; creates or upgrades the schema and the first key on start."""
    import uvicorn

    from tokenward.events import configure_logging

    settings = load_settings()
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise fail("--ssl-certfile and --ssl-keyfile go together")
    configure_logging(settings.log_level)

    async def prepare() -> None:
        await upgrade(settings.database_url)
        async with Tokenward(settings).running():
            pass  # creates the first signing key once, before any worker starts

    try:
        asyncio.run(prepare())
    except TokenwardError as exc:
        raise fail(exc.detail) from None
    uvicorn.run(
        "tokenward.http.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        access_log=access_log,
        proxy_headers=False,
        server_header=False,
        log_level=settings.log_level.lower(),
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations."""
    settings = load_settings()
    try:
        asyncio.run(upgrade(settings.database_url))
    except TokenwardError as exc:
        raise fail(exc.detail) from None
    console.print("database schema is at the latest revision")


@users_app.command("create")
def users_create(
    email: str,
    admin: Annotated[
        bool, typer.Option("--admin", help="Grant the admin scope.")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    scope: Annotated[
        list[str] | None, typer.Option(help="Grant a scope (repeatable).")
    ] = None,
) -> None:
    """Add a user."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    scopes = tuple(dict.fromkeys([*(scope or []), *(["admin"] if admin else [])]))

    async def create(tokenward: Tokenward) -> str:
        user = await tokenward.accounts.register(
            email, password, is_admin=admin, scopes=scopes
        )
        return user.id

    user_id = with_tokenward(create)
    console.print(f"created user {user_id}")


@users_app.command("list")
def users_list(
    limit: Annotated[int, typer.Option(min=1)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """List users."""
    users = with_tokenward(lambda tw: tw.store.list_users(limit, offset))
    table = Table("id", "email", "active", "verified", "scopes", "created")
    for user in users:
        table.add_row(
            user.id,
            user.email,
            "yes" if user.is_active else "no",
            "yes" if user.is_verified else "no",
            " ".join(user.scopes),
            user.created_at.isoformat(timespec="seconds"),
        )
    console.print(table)


@users_app.command("import")
def users_import(
    file: Annotated[
        typer.FileText, typer.Argument(help="CSV: email,password_hash[,is_active,…]")
    ],
) -> None:
    """Add users with their existing Argon2 or bcrypt hashes, from a CSV file.

    Columns: email, password_hash, and optionally is_active, is_verified and scopes
    (space-separated). Existing emails are left alone. Hashes become Argon2id with
    the current parameters at each user's next login.
    """
    from rich.progress import Progress

    try:
        rows = list(read_rows(file))
    except (ImportFileError, csv.Error) as exc:
        raise fail(f"{file.name}: {exc}") from None

    async def run(tokenward: Tokenward) -> ImportReport:
        report = ImportReport()
        with Progress(console=errors, transient=True) as progress:
            task = progress.add_task("importing", total=len(rows))
            for start in range(0, len(rows), 100):
                chunk = rows[start : start + 100]
                await import_users(
                    chunk, tokenward.store, tokenward.hasher, tokenward.clock, report
                )
                progress.advance(task, len(chunk))
        return report

    report = with_tokenward(run)
    console.print(
        f"imported {report.imported} users, kept {report.existing} existing, "
        f"refused {len(report.invalid)} invalid rows"
    )
    for line, reason in report.invalid[:20]:
        console.print(f"line {line}: {reason}", markup=False, highlight=False)
    if report.invalid:
        raise fail(f"{len(report.invalid)} rows of {file.name} were not imported")


def set_active(email: str, active: bool) -> None:
    async def change(tokenward: Tokenward) -> None:
        user = await tokenward.accounts.find(email)
        await tokenward.set_user_active(user, active)

    with_tokenward(change)
    console.print(f"{'enabled' if active else 'disabled'} {email}")


@users_app.command("disable")
def users_disable(email: str) -> None:
    """Disable a user and revoke every token they hold."""
    set_active(email, False)


@users_app.command("enable")
def users_enable(email: str) -> None:
    """Enable a disabled user again."""
    set_active(email, True)


@sessions_app.command("list")
def sessions_list(
    user: Annotated[str | None, typer.Option("--user", help="Only this email's.")] = None,
) -> None:
    """List live sessions."""

    async def load(tokenward: Tokenward):  # type: ignore[no-untyped-def]
        user_id = (await tokenward.accounts.find(user)).id if user else None
        return await tokenward.store.list_sessions(tokenward.clock.now(), user_id)

    sessions = with_tokenward(load)
    table = Table("id", "user", "device", "ip", "last used", "expires")
    for s in sessions:
        table.add_row(
            s.id,
            s.user_id,
            s.device_name or "",
            s.ip or "",
            s.last_used_at.isoformat(timespec="seconds"),
            s.expires_at.isoformat(timespec="seconds"),
        )
    console.print(table)


@sessions_app.command("revoke")
def sessions_revoke(
    session_id: Annotated[
        str | None, typer.Argument(help="The session to revoke.")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Every session of this email.")
    ] = None,
) -> None:
    """Revoke one session, or every session of a user."""
    if (session_id is None) == (user is None):
        errors.print("error: give a session ID or --user EMAIL, not both")
        raise typer.Exit(2)

    async def revoke(tokenward: Tokenward) -> int:
        if user is not None:
            found = await tokenward.accounts.find(user)
            return len(await tokenward.sessions.revoke_all(found.id, "revoked_by_admin"))
        assert session_id is not None
        return int(await tokenward.sessions.revoke(session_id, "revoked_by_admin"))

    count = with_tokenward(revoke)
    if session_id is not None and count == 0:
        raise fail(f"no live session {session_id}")
    console.print(f"revoked {count} session(s)")


@keys_app.command("list")
def keys_list() -> None:
    """List signing keys; the newest of the configured algorithm signs."""

    async def load(tokenward: Tokenward):  # type: ignore[no-untyped-def]
        return tokenward.keyring.keys(), tokenward.keyring.current.kid

    keys, current = with_tokenward(load)
    table = Table("kid", "alg", "generation", "created", "retires", "current")
    for key in keys:
        retires = (
            key.retire_after.isoformat(timespec="seconds") if key.retire_after else ""
        )
        table.add_row(
            key.kid,
            key.alg,
            str(key.generation),
            key.created_at.isoformat(timespec="seconds"),
            retires,
            "yes" if key.kid == current else "",
        )
    console.print(table)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key; the old ones stay published until their tokens expire."""

    async def rotate(tokenward: Tokenward) -> str:
        try:
            return await tokenward.rotate_keys()
        except ValueError as exc:
            raise fail(str(exc)) from None

    kid = with_tokenward(rotate)
    console.print(f"new signing key {kid}")


@app.command()
def purge() -> None:
    """Delete expired sessions, spent refresh tokens, old revocations and retired keys."""

    async def run(tokenward: Tokenward):  # type: ignore[no-untyped-def]
        return await tokenward.store.purge(
            tokenward.clock.now(), tokenward.settings.refresh_idle_ttl
        )

    counts = with_tokenward(run)
    console.print(
        f"purged {counts.sessions} sessions, {counts.refresh_tokens} refresh tokens, "
        f"{counts.revocations} revocations, {counts.signing_keys} signing keys"
    )


def main() -> None:
    app()
