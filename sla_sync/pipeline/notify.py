"""Notifications through apprise: recipients named in the definition, URLs read as secrets.

A recipient (``recipients: {sales-na-head: {url_env: SLA_SYNC_NOTIFY_SALES_NA_HEAD}}``) is a
name bound to a variable holding one or more apprise URLs (separated by spaces or commas). The
URLs often embed a token or a password, so they are read with the settings' ``read_secret`` (the
variable itself or ``<VAR>_FILE``), kept in memory only and never logged: log lines name the
recipient, not its URLs.

Contract:

* a recipient whose secret is missing or empty, or whose URLs apprise cannot parse, is skipped
  with one warning (per :class:`Notifier`) and never breaks a run;
* :meth:`Notifier.send` builds one ``apprise.Apprise`` per call (no state shared between sends
  or threads) and answers whether *every* resolved recipient got the message; with no recipient
  resolved it sends nothing and answers ``False`` (callers record a notification as delivered
  only on ``True``, so it is tried again on the next run).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SecretReader = Callable[..., str]
_SPLIT = re.compile(r"[\s,]+")
_APPRISE_LOCK = threading.Lock()
_apprise: Any = None


def _load_apprise() -> Any:
    """Import apprise once. Its e-mail plugin imports the stdlib ``imghdr``, deprecated since
    3.11 (a ``DeprecationWarning`` that tests turn into errors): imported here with that one
    warning silenced, so the plugin finds it already loaded."""
    global _apprise
    with _APPRISE_LOCK:
        if _apprise is None:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*imghdr.*", category=DeprecationWarning)
                with contextlib.suppress(ImportError):  # gone in 3.13: apprise shims it
                    import imghdr  # noqa: F401
                import apprise

                apprise.Apprise().add("json://127.0.0.1/")  # loads the plugins now
            _apprise = apprise
        return _apprise


class Notifier:
    """Sends messages to named recipients. ``urls`` maps a recipient to its apprise URLs;
    ``missing`` lists recipients named in the definition whose secret is not set (each is warned
    about once, when first used)."""

    def __init__(self, urls: Mapping[str, Sequence[str]], *, missing: Sequence[str] = ()) -> None:
        self._urls = {name: tuple(u) for name, u in urls.items() if u}
        self._missing = set(missing) | {name for name, u in urls.items() if not u}
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def from_config(
        cls,
        config: Any,
        read_secret: SecretReader,
        environ: Mapping[str, str] | None = None,
    ) -> Notifier:
        """Resolve every recipient of ``config.recipients`` with ``read_secret(url_env,
        environ)``; a secret that cannot be read leaves its recipient out (warned when used)."""
        urls: dict[str, tuple[str, ...]] = {}
        missing: list[str] = []
        recipients: Mapping[str, Any] = getattr(config, "recipients", None) or {}
        for name, spec in recipients.items():
            try:
                raw = read_secret(spec.url_env, environ)
            except Exception:  # unset, unreadable file: the message says which variable
                missing.append(name)
                continue
            found = tuple(u for u in _SPLIT.split(raw.strip()) if u)
            if found:
                urls[name] = found
            else:
                missing.append(name)
        return cls(urls, missing=missing)

    @classmethod
    def disabled(cls) -> Notifier:
        """A notifier with no recipient: every send is a no-op answering ``False``."""
        return cls({})

    def resolves(self, recipients: Sequence[str]) -> bool:
        """Whether at least one of ``recipients`` has URLs."""
        return any(name in self._urls for name in recipients)

    def send(
        self,
        recipients: Sequence[str],
        title: str,
        body: str,
        *,
        attachments: Sequence[str | Path] = (),
    ) -> bool:
        """Send ``title``/``body`` (Markdown) with ``attachments`` (file paths) to
        ``recipients``. ``True`` only when every resolved recipient's URLs accepted it; recipients
        without URLs are skipped (warned once). Never raises for a delivery problem."""
        names = [n for n in dict.fromkeys(recipients) if self._usable(n)]
        if not names:
            return False
        apprise = _load_apprise()
        sender = apprise.Apprise()
        for name in names:
            if not sender.add(list(self._urls[name])):
                self._warn_once(name, "its apprise URL(s) could not be parsed; skipped")
        if len(sender) == 0:
            return False
        attach = None
        if attachments:
            attach = apprise.AppriseAttachment()
            for path in attachments:
                attach.add(str(path))
        try:
            ok = sender.notify(
                title=title,
                body=body,
                body_format=apprise.NotifyFormat.MARKDOWN,
                attach=attach,
            )
        except Exception as exc:  # a plugin bug must not break the run; no URL in the message
            log.warning("notification %r failed: %s", title, type(exc).__name__)
            return False
        if not ok:
            log.warning("notification %r: not every recipient accepted it (%s)", title, names)
        return bool(ok)

    def _usable(self, name: str) -> bool:
        if name in self._urls:
            return True
        if name in self._missing:
            self._warn_once(name, "its URL secret is not set; skipped")
        else:
            self._warn_once(name, "it is not a configured recipient; skipped")
        return False

    def _warn_once(self, name: str, why: str) -> None:
        with self._lock:
            if name in self._warned:
                return
            self._warned.add(name)
        log.warning("recipient %r: %s", name, why)
