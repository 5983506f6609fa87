"""Refusing literal secrets in a configuration file.

Runs on the raw YAML data *before* schema validation, so a secret is reported once, with a
message that never contains it, and is replaced by a placeholder before anything else (pydantic
errors, the ``when`` parser) could quote it. Two signals:

- a key that names a credential (``token``, ``password``, ``client_secret``, ...) with a value;
- a value that looks like one wherever it is: a HubSpot private-app token (``pat-na1-…``), a
  Salesforce session id (``00D…!…``), a PEM private key, or a URL with a password in it.
"""

from __future__ import annotations

import re
from typing import Any

from sla_sync.definitions.problems import Path

REDACTED = "<redacted>"

SECRET_KEYS = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "api_key",
        "apikey",
        "hapikey",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "consumer_secret",
        "private_key",
        "security_token",
        "session_id",
    }
)

_LOOKS_LIKE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bpat-[a-z]{2,4}\d*-[0-9a-f]{4,}", re.IGNORECASE), "a HubSpot private-app token"),
    (re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{20,}"), "a Salesforce session id"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a PEM private key"),
    (
        re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE),
        "a URL with a password",
    ),
)


def looks_like_secret(text: str) -> str | None:
    """What kind of secret ``text`` looks like, or ``None``."""
    for pattern, what in _LOOKS_LIKE:
        if pattern.search(text):
            return what
    return None


def scan_secrets(data: Any) -> tuple[Any, list[tuple[Path, str]]]:
    """Return ``data`` with literal secrets replaced by :data:`REDACTED`, and the problems."""
    problems: list[tuple[Path, str]] = []
    return _scan(data, (), problems), problems


def _scan(node: Any, path: Path, problems: list[tuple[Path, str]]) -> Any:
    if isinstance(node, dict):
        out: dict[Any, Any] = {}
        for key, value in node.items():
            key_text = str(key)
            here = (*path, key_text)
            if key_text.lower() in SECRET_KEYS and value not in (None, ""):
                problems.append(
                    (
                        here,
                        (
                            "literal secret not allowed; name an environment variable with "
                            f"{key_text}_env (e.g. {key_text}_env: {_example(key_text)})"
                        ),
                    )
                )
                out[key] = REDACTED
            else:
                out[key] = _scan(value, here, problems)
        return out
    if isinstance(node, list):
        return [_scan(item, (*path, i), problems) for i, item in enumerate(node)]
    if isinstance(node, str):
        what = looks_like_secret(node)
        if what is not None:
            problems.append((path, _value_message(path, what)))
            return REDACTED
    return node


def _value_message(path: Path, what: str) -> str:
    key = path[-1] if path and isinstance(path[-1], str) else None
    if key and key.endswith("_env"):
        return (
            f"this value looks like {what}: literal secret not allowed; {key} takes the NAME of "
            f"the environment variable that carries it (e.g. {key}: {_example(key[:-4])})"
        )
    hint = f"{key}_env" if key else "a *_env key"
    return (
        f"this value looks like {what}: literal secret not allowed; "
        f"name an environment variable with {hint}"
    )


def _example(credential: str) -> str:
    return {
        "token": "HUBSPOT_TOKEN",
        "access_token": "HUBSPOT_TOKEN",
        "password": "SALESFORCE_PASSWORD",
        "security_token": "SALESFORCE_SECURITY_TOKEN",
        "consumer_secret": "SALESFORCE_CONSUMER_SECRET",
        "client_secret": "SALESFORCE_CONSUMER_SECRET",
        "private_key": "SALESFORCE_PRIVATE_KEY",
    }.get(credential.lower(), credential.upper())


def scan_comment_lines(text: str) -> list[int]:
    """1-based lines whose YAML comment looks like it holds a secret (a comment in a shared
    config file is as public as a value)."""
    found: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        hash_at = line.find("#")
        if hash_at >= 0 and looks_like_secret(line[hash_at:]):
            found.append(number)
    return found
