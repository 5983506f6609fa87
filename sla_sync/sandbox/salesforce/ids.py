# ruff: noqa: E501 - verbatim vendor messages/templates and long test literals
"""Salesforce record ids: 15-character case-sensitive ids and their 18-character case-safe form.

Layout: a 3-character key prefix, 12 base-62 characters, and (18-character form only) a
3-character checksum that makes the id unique even when compared case-insensitively.
"""

from __future__ import annotations

import itertools
import threading

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# A fixed "pod" part, so generated ids look like real ones (e.g. ``00Q5g00000...``).
_POD = "5g"


_BITS = str.maketrans(
    dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "1")
    | dict.fromkeys("abcdefghijklmnopqrstuvwxyz0123456789", "0")
)


def checksum(id15: str) -> str:
    """The 3-character suffix of ``id15``: bit i of each 5-char chunk is set for an uppercase char."""
    flags = id15.translate(_BITS)[::-1]  # reversed: bit i of a chunk = its i-th character
    if len(flags) == 15 and flags.isascii() and flags.isdigit():
        alphabet = _CHECKSUM_ALPHABET
        return (
            alphabet[int(flags[10:], 2)]
            + alphabet[int(flags[5:10], 2)]
            + alphabet[int(flags[:5], 2)]
        )
    out = []
    for start in (0, 5, 10):
        bits = 0
        for i, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << i
        out.append(_CHECKSUM_ALPHABET[bits])
    return "".join(out)


def to18(sf_id: str) -> str:
    """The 18-character form of a 15- or 18-character id.

    Raises:
        ValueError: not 15 or 18 alphanumeric characters, or an 18-char id with a wrong checksum
            (Salesforce answers ``MALFORMED_ID`` then).
    """
    if not sf_id.isalnum() or not sf_id.isascii() or len(sf_id) not in (15, 18):
        raise ValueError(f"malformed id {sf_id!r}")
    expected = checksum(sf_id[:15])
    if len(sf_id) == 18:
        # Salesforce accepts the suffix in any case, since its purpose is case-insensitive use.
        if sf_id[15:].upper() != expected:
            raise ValueError(f"malformed id {sf_id!r}")
        return sf_id[:15] + expected
    return sf_id + expected


def is_valid18(sf_id: str) -> bool:
    """Whether ``sf_id`` is an 18-character id whose checksum matches."""
    return len(sf_id) == 18 and sf_id.isalnum() and checksum(sf_id[:15]) == sf_id[15:]


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(reversed(chars))


class IdFactory:
    """Hands out fresh 18-character ids per key prefix; thread-safe and deterministic after reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, itertools.count[int]] = {}

    def new(self, prefix: str) -> str:
        """A new 18-character id with key prefix ``prefix`` (3 characters)."""
        with self._lock:
            counter = self._counters.setdefault(prefix, itertools.count(1))
            number = next(counter)
        # Mix the sequence number so consecutive ids differ in case too (exercises the checksum).
        body = _base62(number * 7919 + 1_000_003, 10 - len(_POD) + 2)
        id15 = f"{prefix}{_POD}{body}"[:15]
        return id15 + checksum(id15)

    def reset(self) -> None:
        """Start every prefix's sequence again."""
        with self._lock:
            self._counters.clear()
