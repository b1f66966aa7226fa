"""The offline blocklist and the guessable-password rules (NIST SP 800-63B-4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.conftest import make_settings
from tokenward import blocklist
from tokenward.blocklist import common_passwords, context_words, weakness
from tokenward.errors import WeakPassword
from tokenward.passwords import PasswordPolicy

FULLWIDTH_PASSWORD = "".join(chr(ord(c) + 0xFEE0) for c in "Password")
SHIPPED = Path(blocklist.__file__).parent / "data" / "common-passwords.txt"


def test_blocklist_holds_the_30000_most_common_passwords() -> None:
    """At least the 20,000 the policy promises, folded to lower case, as a frozenset."""
    words = common_passwords()

    assert isinstance(words, frozenset)
    assert len(words) >= 20_000
    assert {"123456", "password", "qwerty", "iloveyou", "trustno1"} <= words
    assert all(word == word.casefold() for word in words)


def test_blocklist_is_loaded_once() -> None:
    """Every check shares one set; the file is read a single time."""
    assert common_passwords() is common_passwords()


def test_shipped_file_is_generated_from_zxcvbn() -> None:
    """The data file is exactly what `scripts/make_blocklist.py` makes from the
    installed zxcvbn package, not a hand-edited list."""
    pytest.importorskip("zxcvbn")
    import importlib.util

    path = Path(__file__).parents[2] / "scripts" / "make_blocklist.py"
    spec = importlib.util.spec_from_file_location("make_blocklist", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert SHIPPED.read_text(encoding="utf-8") == module.build()


@pytest.mark.parametrize(
    "password",
    [
        "password",
        "PASSWORD",
        "P@ssw0rd",
        FULLWIDTH_PASSWORD,
        "1qaz2wsx3edc4rfv",
        "dr4g0n",
    ],
)
def test_common_password_in_any_case_or_width_is_weak(password: str) -> None:
    """Case, fullwidth forms and common letter swaps do not hide a listed password."""
    assert weakness(password) == "This is one of the most commonly used passwords."


@pytest.mark.parametrize(
    "password",
    [
        "password123456789",
        "!!!sunshine2024!!!",
        "  monkey 1234567890",
        "f00tb4ll 1234567",
    ],
)
def test_common_password_with_padding_is_weak(password: str) -> None:
    """Digits and symbols around a listed password add next to nothing."""
    assert "digits or symbols added" in (weakness(password) or "")


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaaaaaaaa",
        "abababababababab",
        "passwordpassword",
        "abcdefghijklmnopq",
        "zyxwvutsrqponmlkj",
        "1234567890123456",
        "qwertyuiopasdfghjk",
        "abcabcabcabcabcabc",
    ],
)
def test_repeats_and_runs_are_weak(password: str) -> None:
    """Repeated units and runs along the alphabet, digits or keyboard are refused."""
    assert weakness(password) == "This password is a repeated or keyboard pattern."


@pytest.mark.parametrize(
    "password,email",
    [
        ("tokenward2024!!!!!", None),
        ("TokenwardTokenward1", None),
        ("alice.smith12345678", "alice.smith@example.com"),
        ("smith-alice-1234567", "alice.smith@example.com"),
        ("alicepassword2024", "alice@example.com"),
    ],
)
def test_context_words_are_weak(password: str, email: str | None) -> None:
    """The service name, the email's local part and its pieces, plus padding."""
    reason = weakness(password, context_words(email))

    assert reason == "This password is built from your email address or the service name."


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "alice likes green tea in the morning",
        "all lower case and no digits at all",
        "8472 9931 0042 1187",
        "ihLw8Gk2pQx9Vn3T",
        "мой пароль достаточно длинный",
        "tokenward guards my notes app well",
    ],
)
def test_long_unrelated_passphrases_pass(password: str) -> None:
    """No composition rules: a long passphrase of any characters is fine."""
    assert weakness(password, context_words("alice@example.com")) is None


def test_context_words_come_from_the_email_and_service() -> None:
    """Short pieces are ignored; the local part, its pieces and the name are kept."""
    words = context_words("Alice.Smith+news@example.com")

    assert {"tokenward", "alice.smith+news", "alice", "smith", "news"} <= set(words)
    assert "example" not in words
    assert words == sorted(words, key=len, reverse=True)


def test_default_minimum_is_15_and_64_or_more_are_accepted() -> None:
    """15 characters by default; passphrases of 64 and 1024 characters pass."""
    policy = PasswordPolicy()

    with pytest.raises(WeakPassword, match="at least 15"):
        policy.check("ihLw8Gk2pQx9Vn")
    assert policy.check("ihLw8Gk2pQx9Vn3")
    assert policy.check("a quiet lake under " * 3 + "the moon..")
    longest = ("river stone " * 100)[:1023] + "x"
    assert len(policy.check(longest)) == 1024


def test_minimum_is_configurable_down_to_8_and_no_lower() -> None:
    """8 is the floor NIST allows for a password used alone."""
    assert make_settings(password_min_length=8).password_min_length == 8
    with pytest.raises(ValidationError):
        make_settings(password_min_length=7)

    assert PasswordPolicy(min_length=8).check("x7#kQ9!m") == "x7#kQ9!m"
    with pytest.raises(WeakPassword, match="most commonly used"):
        PasswordPolicy(min_length=8).check("trustno1")


def test_policy_never_shortens_a_password() -> None:
    """What the policy returns is the whole (normalized) password, however long."""
    password = "a long passphrase " * 40

    assert PasswordPolicy().check(password) == password
