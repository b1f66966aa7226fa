"""Real Chromium against a real `tokenward serve`, plus a hostile site on another port.

Debian's `chromium` package drives the tests (never a browser downloaded by
Playwright); without it they skip and say why.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.e2e.conftest import Server, start_server, stop_server
from tests.smtp_sink import Sink, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parents[1] / "artifacts" / "browser"


def chromium_path() -> Path | None:
    if CHROMIUM.exists():
        return CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """The sync driver runs an event loop of its own: module scope ends it before the
    async tests of other modules start."""
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium not found: install Debian's chromium (/usr/bin/chromium)")
    chromium = playwright.chromium.launch(
        executable_path=str(path), headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def mail_sink() -> Iterator[Sink]:
    """An SMTP server on loopback that the tokenward server mails to."""
    sink = Sink(free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    controller.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mail_sink: Sink) -> Iterator[Server]:
    """A real `tokenward serve` on a free loopback port, mailing to `mail_sink`."""
    running = start_server(
        tmp_path_factory.mktemp("browser"),
        TOKENWARD_SMTP_URL=mail_sink.url,
        TOKENWARD_IP_RATE="100000/minute",
        TOKENWARD_LOGIN_RATE="1000/minute",
    )
    yield running
    stop_server(running)


class HostileSite:
    """A second loopback server: another origin, serving the pages it is given."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path, "not found").encode()
                self.send_response(200 if self.path in pages else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.origin + path


@pytest.fixture
def hostile_site() -> Iterator[HostileSite]:
    site = HostileSite()
    site.thread.start()
    yield site
    site.httpd.shutdown()
    site.httpd.server_close()


def screenshot(page: Page, name: str) -> Path:
    """Keep a full-page screenshot under tests/artifacts/browser/ (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
