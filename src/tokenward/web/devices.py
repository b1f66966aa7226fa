"""Short, human names for the browsers people sign in from."""

from __future__ import annotations

from datetime import datetime

# Order matters: Edge and Opera also claim to be Chrome, and Chrome claims Safari.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe_device(user_agent: str | None) -> str | None:
    """`Firefox on Windows` from a user agent string; None when nothing is known."""
    if not user_agent:
        return None
    browser = next((name for token, name in _BROWSERS if token in user_agent), None)
    system = next((name for token, name in _SYSTEMS if token in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system


def format_when(moment: datetime) -> str:
    """`4 Dec 2030, 09:15 UTC`: unambiguous for readers in any country."""
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"
