# ruff: noqa: E501 - verbatim vendor messages/templates and long test literals
"""Identities and sessions: users' credentials, connected apps, SOAP and OAuth logins, sessions.

- SOAP ``login``: password + security token appended (or without the token together with a
  ``LoginScopeHeader`` carrying the org id: the IP-filter variant).
- OAuth token endpoint: ``password`` (consumer key/secret + username/password, token optional),
  ``client_credentials`` (Basic consumer key:secret; the app must have a run-as user) and JWT
  bearer (RS256 assertion verified with the app's registered certificate or public key; ``exp``
  may be a string, as simple-salesforce sends it, and is checked on the sandbox clock).
- Sessions expire after ``idle_timeout`` without use (sandbox clock) or when revoked.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

ORG_ID = "00D5g0000000001EAA"
DEFAULT_IDLE_TIMEOUT = timedelta(hours=2)
AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


class AuthError(Exception):
    """A refused login: ``code``/``message`` in the flow's own error vocabulary; ``status``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Credential:
    username: str
    password: str
    security_token: str
    user_id: str


@dataclass
class ConnectedApp:
    """A connected app. ``certificate`` (PEM certificate or public key) enables JWT bearer;
    ``run_as`` (a username) enables client credentials."""

    consumer_key: str
    consumer_secret: str
    certificate: str | None = None
    run_as: str | None = None
    name: str = "sandbox-app"
    _key: PublicKeyTypes | None = field(default=None, repr=False)

    def public_key(self) -> PublicKeyTypes:
        """The key that verifies JWT assertions. Raises :class:`AuthError` without a certificate."""
        if self._key is None:
            if not self.certificate:
                raise AuthError("invalid_client", "JWT bearer is not enabled for this client")
            pem = self.certificate.encode()
            if b"CERTIFICATE" in pem:
                self._key = x509.load_pem_x509_certificate(pem).public_key()
            else:
                self._key = serialization.load_pem_public_key(pem)
        return self._key


@dataclass
class Session:
    token: str
    user_id: str
    username: str
    last_used: datetime
    app: str | None = None


class Auth:
    """Credentials, apps and live sessions. Callers serialise access (the emulator's lock)."""

    def __init__(self) -> None:
        self.users: dict[str, Credential] = {}
        self.apps: dict[str, ConnectedApp] = {}
        self.sessions: dict[str, Session] = {}
        self.idle_timeout = DEFAULT_IDLE_TIMEOUT

    def reset(self) -> None:
        """Forget users, apps and sessions; timeout back to the default."""
        self.users.clear()
        self.apps.clear()
        self.sessions.clear()
        self.idle_timeout = DEFAULT_IDLE_TIMEOUT

    def add_user(self, username: str, password: str, security_token: str, user_id: str) -> None:
        """Register (or replace) a user's credentials (usernames are case-insensitive)."""
        self.users[username.lower()] = Credential(username, password, security_token, user_id)

    def add_app(self, app: ConnectedApp) -> None:
        """Register (or replace) a connected app."""
        self.apps[app.consumer_key] = app

    def _open(self, cred: Credential, now: datetime, app: str | None = None) -> Session:
        token = f"{ORG_ID[:15]}!AQ{secrets.token_urlsafe(72)}"
        session = Session(token, cred.user_id, cred.username, now, app)
        self.sessions[token] = session
        return session

    # --- flows -----------------------------------------------------------------------------------

    def soap_login(
        self, username: str, password: str, org_scope: str | None, now: datetime
    ) -> Session:
        """Password + token, or password alone with the org id (IP filter). Raises ``INVALID_LOGIN``."""
        cred = self.users.get(username.lower())
        ok = cred is not None and (
            password == cred.password + cred.security_token
            or (
                org_scope is not None
                and org_scope[:15] == ORG_ID[:15]
                and password == cred.password
            )
        )
        if cred is None or not ok:
            raise AuthError(
                "INVALID_LOGIN",
                "Invalid username, password, security token; or user locked out.",
                500,
            )
        return self._open(cred, now)

    def token(self, form: dict[str, str], authorization: str | None, now: datetime) -> Session:
        """The OAuth token endpoint. Raises :class:`AuthError` (``{"error","error_description"}``)."""
        grant = form.get("grant_type", "")
        if grant == "password":
            app = self._app(form.get("client_id"), form.get("client_secret"))
            cred = self.users.get(form.get("username", "").lower())
            password = form.get("password", "")
            if cred is None or password not in (cred.password, cred.password + cred.security_token):
                raise AuthError("invalid_grant", "authentication failure")
            return self._open(cred, now, app.name)
        if grant == "client_credentials":
            key, secret = _basic(authorization)
            app = self._app(form.get("client_id", key), form.get("client_secret", secret))
            if not app.run_as or app.run_as.lower() not in self.users:
                raise AuthError("invalid_grant", "no client credentials user enabled")
            return self._open(self.users[app.run_as.lower()], now, app.name)
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self._jwt(form.get("assertion", ""), now)
        raise AuthError("unsupported_grant_type", "grant type not supported")

    def _app(self, key: str | None, secret: str | None) -> ConnectedApp:
        app = self.apps.get(key or "")
        if app is None:
            raise AuthError("invalid_client_id", "client identifier invalid")
        if secret is not None and not secrets.compare_digest(secret, app.consumer_secret):
            raise AuthError("invalid_client", "invalid client credentials")
        return app

    def _jwt(self, assertion: str, now: datetime) -> Session:
        try:
            unverified: dict[str, Any] = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AuthError("invalid_grant", "invalid assertion") from None
        app = self.apps.get(str(unverified.get("iss", "")))
        if app is None:
            raise AuthError("invalid_client_id", "client identifier invalid")
        try:
            # exp arrives as a string from simple-salesforce; pyjwt would reject it, so it is
            # checked below against the sandbox clock instead.
            claims: dict[str, Any] = jwt.decode(
                assertion,
                app.public_key(),  # type: ignore[arg-type]
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_aud": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError:
            raise AuthError("invalid_grant", "invalid assertion") from None
        if claims.get("aud") not in AUDIENCES:
            raise AuthError("invalid_grant", "audience is invalid")
        try:
            expires = float(claims["exp"])
        except (KeyError, TypeError, ValueError):
            raise AuthError("invalid_grant", "invalid assertion") from None
        if expires < now.timestamp():
            raise AuthError("invalid_grant", "expired authorization code")
        cred = self.users.get(str(claims.get("sub", "")).lower())
        if cred is None:
            raise AuthError("invalid_grant", "user hasn't approved this consumer")
        return self._open(cred, now, app.name)

    # --- sessions --------------------------------------------------------------------------------

    def check(self, token: str | None, now: datetime) -> Session | None:
        """The live session for ``token`` (touching it), or ``None`` if unknown/expired/revoked."""
        if not token:
            return None
        session = self.sessions.get(token)
        if session is None:
            return None
        if now - session.last_used > self.idle_timeout:
            del self.sessions[token]
            return None
        session.last_used = now
        return session

    def revoke(self, token: str | None = None, username: str | None = None) -> int:
        """End one session, a user's sessions, or (no arguments) all; returns how many."""
        doomed = [
            t
            for t, s in self.sessions.items()
            if (token is None or t == token)
            and (username is None or s.username.lower() == username.lower())
        ]
        for t in doomed:
            del self.sessions[t]
        return len(doomed)


def _basic(header: str | None) -> tuple[str | None, str | None]:
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None, None
    return key, secret


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` (or ``OAuth``) header."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "oauth") else None
