"""Why a password of acceptable length is still easy to guess, checked offline.

After NIST SP 800-63B-4: no composition rules, but a password is refused when it is
a common password, a common password padded with digits or symbols, a repeated or
keyboard pattern, or built from context words (the service name, the email). The
common passwords are a frozenset loaded once from `data/common-passwords.txt`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from importlib import resources

SERVICE_NAME = "tokenward"
MIN_CONTEXT_WORD = 3
MIN_DISTINCT_CHARACTERS = 5
_SEQUENCES = (
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
)
_LEET = str.maketrans("@4310!$5+7", "aaeioisstt")
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_REPEAT = re.compile(r"(.+?)\1+", re.DOTALL)
_WORD_SPLIT = re.compile(r"[^\w]+|_")


@cache
def common_passwords() -> frozenset[str]:
    """The offline blocklist, folded to lower case; read from the package once."""
    text = (
        resources.files("tokenward")
        .joinpath("data", "common-passwords.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(
        line for line in text.splitlines() if line and not line.startswith("#")
    )


def fold(text: str) -> str:
    """Compatibility forms and case folded away: a fullwidth `P` matches a `p`."""
    return unicodedata.normalize("NFKC", text).casefold()


def context_words(email: str | None) -> list[str]:
    """The words a guesser tries first for this account, longest first."""
    words = {SERVICE_NAME}
    if email:
        local = fold(email).rpartition("@")[0] or fold(email)
        words.add(local)
        words.update(_WORD_SPLIT.split(local))
        words.add(_WORD_SPLIT.sub("", local))
    return sorted((w for w in words if len(w) >= MIN_CONTEXT_WORD), key=len, reverse=True)


def weakness(password: str, context: Iterable[str] = ()) -> str | None:
    """Say why `password` is guessable, or return None when it is not."""
    folded = fold(password)
    blocked = common_passwords()

    if folded in blocked or folded.translate(_LEET) in blocked:
        return "This is one of the most commonly used passwords."
    if _is_common_padded(folded, blocked):
        return "This is a common password with a few digits or symbols added."
    if _is_pattern(folded, blocked):
        return "This password is a repeated or keyboard pattern."

    remainder = folded
    for word in context:
        remainder = remainder.replace(word, "")
    if remainder != folded and (
        not _core(remainder) or _is_common_padded(remainder, blocked)
    ):
        return "This password is built from your email address or the service name."
    return None


def _core(text: str) -> str:
    """The text without digits, symbols and spaces at either end."""
    return _EDGES.sub("", text)


def _is_common_padded(text: str, blocked: frozenset[str]) -> bool:
    core = _core(text)
    return core in blocked or core.translate(_LEET) in blocked


def _is_pattern(text: str, blocked: frozenset[str]) -> bool:
    compact = text.replace(" ", "")
    if len(set(compact)) < MIN_DISTINCT_CHARACTERS:
        return True
    repeat = _REPEAT.fullmatch(compact)
    if repeat is not None:
        unit = repeat.group(1)
        if len(unit) <= 4 or unit in blocked or _is_sequence(unit):
            return True
    return _is_sequence(compact)


def _is_sequence(text: str) -> bool:
    """A run along the alphabet, the digits or a keyboard row, either way round."""
    for sequence in _SEQUENCES:
        cycle = sequence * (len(text) // len(sequence) + 2)
        if text in cycle or text in cycle[::-1]:
            return True
    return False
