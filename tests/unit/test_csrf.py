"""Origin parsing and checking for the CSRF defence."""

from __future__ import annotations

import pytest

from tokenward.csrf import origin_of


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://App.Example.com/path?q=1", "https://app.example.com"),
        ("https://app.example.com:443", "https://app.example.com"),
        ("http://127.0.0.1:8000/x", "http://127.0.0.1:8000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_origin_is_scheme_host_and_non_default_port(url: str, origin: str) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize(
    "url",
    [
        "null",
        "javascript:alert(1)",
        "ftp://app.example.com",
        "http://evil@127.0.0.1:8000",
        "http://user:pass@app.example.com",
        "http://app.example.com:99999",
    ],
)
def test_anything_but_a_plain_web_origin_is_none(url: str) -> None:
    """Userinfo is refused rather than stripped, so `evil@host` never passes as host."""
    assert origin_of(url) is None
