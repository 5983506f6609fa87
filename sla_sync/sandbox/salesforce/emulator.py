# ruff: noqa: E501 - verbatim vendor messages/templates and long test literals
"""The Salesforce emulator: state, the ``Emulator`` protocol for the sandbox shell, and its
control routes under ``/__sandbox/salesforce/``.

Control routes (JSON):

- ``GET /__sandbox/salesforce/demo``: demo credentials (username, password, security token,
  consumer key/secret, the JWT private key PEM), registered again by every reset.
- ``POST /__sandbox/salesforce/users``: ``{"username","password","security_token",
  "first_name"?,"last_name"?,"email"?}`` -> a User record and its credentials.
- ``POST /__sandbox/salesforce/apps``: ``{"consumer_key","consumer_secret","certificate"?,
  "run_as"?}``: a connected app (certificate PEM or public key for JWT; run-as user for client
  credentials).
- ``POST /__sandbox/salesforce/sessions``: ``{"idle_timeout_seconds": n}``; ``GET`` lists them.
- ``POST /__sandbox/salesforce/sessions/expire`` and ``.../revoke``: ``{"token"?, "username"?}``
  (no filter: all sessions). Expired and revoked sessions answer 401 ``INVALID_SESSION_ID``.
- ``POST|DELETE /__sandbox/salesforce/assignment-rule``: ``{"sobject": "Lead", "owner_ids"
  | "owner_usernames": [...]}``: reassign owners round-robin unless ``Sforce-Auto-Assign: FALSE``.
- ``GET|POST /__sandbox/salesforce/limits``: ``{"daily_max": n, "used": n}``.
- ``POST /__sandbox/salesforce/objects``: ``{"name": "Foo__c", "label"?}``: a custom object.
- ``POST /__sandbox/salesforce/archive``: ``{"ids": [...], "archived"?: true}``: archive (or
  un-archive) Tasks/Events; archived activities are only returned by queryAll. Activities whose
  ActivityDate is over 365 days old on the sandbox clock are archived automatically, and seeded
  touches with ``"archived": true`` start archived.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sla_sync.sandbox.app import build_app, json_body
from sla_sync.sandbox.clock import SandboxClock
from sla_sync.sandbox.faults import FaultRule
from sla_sync.sandbox.salesforce import ingest, routes_auth, routes_extra, routes_rest
from sla_sync.sandbox.salesforce.auth import Auth, ConnectedApp
from sla_sync.sandbox.salesforce.bulk import QueryJob
from sla_sync.sandbox.salesforce.limits import ApiLimits
from sla_sync.sandbox.salesforce.query import CursorStore
from sla_sync.sandbox.salesforce.seeding import Seeder, seed_json, seed_stream
from sla_sync.sandbox.salesforce.state import AssignmentRule, Org, RecordError
from sla_sync.sandbox.salesforce.web import sf_error

DEMO = {
    "username": "demo@sla-sync.sandbox",
    "password": "sandbox-demo",
    "security_token": "DEMOTOKEN",
    "consumer_key": "SANDBOX_CONSUMER_KEY",
    "consumer_secret": "SANDBOX_CONSUMER_SECRET",
}
FAULT_CODES = {
    400: ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"),
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    404: ("NOT_FOUND", "The requested resource does not exist"),
    420: ("UNKNOWN_EXCEPTION", "We are setting things up; please retry"),
    429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable; please retry"),
}


class SalesforceEmulator:
    """Implements the sandbox ``Emulator`` protocol for Salesforce. All state sits behind ``lock``."""

    name = "salesforce"

    def __init__(self, clock: SandboxClock | None = None) -> None:
        self.clock = clock or SandboxClock()
        self.lock = threading.RLock()
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_key_pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.public_key_pem = (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        self.instance_override: str | None = None
        self.auth = Auth()
        self.limits = ApiLimits()
        self.org = Org()
        self.cursors = CursorStore()
        self.jobs: dict[str, QueryJob] = {}
        self.ingest_jobs: dict[str, ingest.IngestJob] = {}
        self.demo_user_id = ""
        self.reset()

    # --- Emulator protocol -----------------------------------------------------------------------

    def reset(self) -> None:
        """Empty org; demo user and connected app registered again; budget and sessions reset."""
        with self.lock:
            self.org = Org()
            self.auth.reset()
            self.limits.reset()
            self.cursors.clear()
            self.jobs.clear()
            self.ingest_jobs.clear()
            self.demo_user_id = self._add_user(
                DEMO["username"], DEMO["password"], DEMO["security_token"], "Sandbox", "Integration"
            )
            self.auth.add_app(
                ConnectedApp(
                    DEMO["consumer_key"],
                    DEMO["consumer_secret"],
                    certificate=self.public_key_pem,
                    run_as=DEMO["username"],
                )
            )

    def _add_user(
        self,
        username: str,
        password: str,
        token: str,
        first: str | None,
        last: str,
        email: str | None = None,
    ) -> str:
        now = self.clock.now()
        user_id = self.org.insert_raw(
            "User",
            {
                "Username": username,
                "FirstName": first,
                "LastName": last,
                "Email": email or username,
                "Alias": (username[:8]),
                "IsActive": True,
                "UserType": "Standard",
                "TimeZoneSidKey": "America/Los_Angeles",
                "CreatedDate": now,
                "LastModifiedDate": now,
                "SystemModstamp": now,
            },
        )
        self.auth.add_user(username, password, token, user_id)
        return user_id

    def seed(self, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """Load neutral seed records (JSON lists, or ``{"generator": {...}}``) as Users/Leads/...."""
        with self.lock:
            seeder = Seeder(self.org, self.demo_user_id)
            try:
                if "generator" in payload:
                    from sla_sync.sandbox.seed import SeedSpec, iter_seed  # lazy: optional module

                    spec = payload["generator"]
                    if not isinstance(spec, dict):
                        raise ValueError("generator must be an object")
                    return seed_stream(seeder, iter_seed(SeedSpec(**spec)))
                return seed_json(seeder, payload)
            except (KeyError, TypeError) as exc:
                raise ValueError(f"malformed seed record: {exc}") from None
            finally:
                # The seeder edits some records in place (managers, merges).
                self.org.invalidate_all()

    def rate_limits(self) -> Mapping[str, Any]:
        with self.lock:
            now = self.clock.now()
            return {"daily_max": self.limits.daily_max, "used": self.limits.used(now)}

    def set_rate_limits(self, settings: Mapping[str, Any]) -> Mapping[str, Any]:
        with self.lock:
            if "daily_max" in settings:
                value = int(settings["daily_max"])
                if value < 0:
                    raise ValueError("daily_max must be >= 0")
                self.limits.daily_max = value
            if "used" in settings:
                self.limits.set_used(int(settings["used"]), self.clock.now())
        return self.rate_limits()

    def fault_response(self, rule: FaultRule) -> Response:
        """Salesforce's JSON-list error body for the injected status (``Retry-After`` if set)."""
        status = rule.status or 500
        code, message = FAULT_CODES.get(
            status, ("UNKNOWN_EXCEPTION", "An unexpected error occurred.")
        )
        response: Response = (
            JSONResponse(rule.body, status_code=status)
            if rule.body is not None
            else sf_error(status, code, message)
        )
        if rule.retry_after is not None:
            response.headers["Retry-After"] = str(int(rule.retry_after))
        return response

    def routes(self) -> Sequence[BaseRoute]:
        return [
            *routes_auth.routes(self),
            *routes_extra.routes(self),
            *ingest.routes(self),
            *routes_rest.routes(self),
        ]

    def instance_url(self, request: Request) -> str:
        """Where sessions point clients: the configured instance, else the host they called."""
        if self.instance_override:
            return self.instance_override
        host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
        return f"{request.url.scheme}://{host}"

    # --- control routes --------------------------------------------------------------------------

    def control_routes(self) -> Sequence[BaseRoute]:
        async def demo(request: Request) -> Response:
            return JSONResponse(
                {**DEMO, "private_key": self.private_key_pem, "public_key": self.public_key_pem}
            )

        async def users(request: Request) -> Response:
            body = await json_body(request)
            try:
                with self.lock:
                    user_id = self._add_user(
                        str(body["username"]),
                        str(body["password"]),
                        str(body.get("security_token", "")),
                        body.get("first_name"),
                        str(body.get("last_name") or body["username"]),
                        body.get("email"),
                    )
            except KeyError as exc:
                return JSONResponse({"error": f"missing {exc}"}, status_code=400)
            return JSONResponse({"id": user_id}, status_code=201)

        async def apps(request: Request) -> Response:
            body = await json_body(request)
            try:
                app = ConnectedApp(
                    str(body["consumer_key"]),
                    str(body["consumer_secret"]),
                    certificate=body.get("certificate"),
                    run_as=body.get("run_as"),
                    name=str(body.get("name", "sandbox-app")),
                )
                if app.certificate:
                    app.public_key()  # validate now rather than at the first login
            except (KeyError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            with self.lock:
                self.auth.add_app(app)
            return JSONResponse({"consumer_key": app.consumer_key}, status_code=201)

        async def sessions(request: Request) -> Response:
            from datetime import timedelta

            if request.method == "POST":
                body = await json_body(request)
                if "idle_timeout_seconds" in body:
                    with self.lock:
                        self.auth.idle_timeout = timedelta(
                            seconds=float(body["idle_timeout_seconds"])
                        )
            with self.lock:
                listed = [
                    {"username": s.username, "user_id": s.user_id, "app": s.app}
                    for s in self.auth.sessions.values()
                ]
                timeout = self.auth.idle_timeout.total_seconds()
            return JSONResponse({"idle_timeout_seconds": timeout, "sessions": listed})

        def ending(expire: bool) -> Any:
            async def handler(request: Request) -> Response:
                body = await json_body(request)
                with self.lock:
                    token, username = body.get("token"), body.get("username")
                    if expire:
                        stale = self.clock.now() - self.auth.idle_timeout * 2
                        hit = 0
                        for s in self.auth.sessions.values():
                            if (token is None or s.token == token) and (
                                username is None or s.username.lower() == str(username).lower()
                            ):
                                s.last_used, hit = stale, hit + 1
                    else:
                        hit = self.auth.revoke(token=token, username=username)
                return JSONResponse({"affected": hit})

            return handler

        async def assignment(request: Request) -> Response:
            body = await json_body(request)
            with self.lock:
                if request.method == "DELETE":
                    self.org.assignment = None
                    return JSONResponse({"assignment_rule": None})
                owners = list(body.get("owner_ids") or [])
                for username in body.get("owner_usernames") or []:
                    cred = self.auth.users.get(str(username).lower())
                    if cred is None:
                        return JSONResponse({"error": f"unknown user {username}"}, status_code=400)
                    owners.append(cred.user_id)
                if not owners:
                    return JSONResponse(
                        {"error": "owner_ids or owner_usernames required"}, status_code=400
                    )
                self.org.assignment = AssignmentRule(str(body.get("sobject", "Lead")), owners)
            return JSONResponse(
                {"assignment_rule": {"sobject": self.org.assignment.sobject, "owner_ids": owners}}
            )

        async def limits(request: Request) -> Response:
            if request.method == "POST":
                try:
                    return JSONResponse(dict(self.set_rate_limits(await json_body(request))))
                except (ValueError, TypeError) as exc:
                    return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse(dict(self.rate_limits()))

        async def objects(request: Request) -> Response:
            body = await json_body(request)
            try:
                with self.lock:
                    schema = self.org.add_custom_object(str(body["name"]), body.get("label"))
            except (KeyError, ValueError, RecordError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse(
                {"name": schema.name, "keyPrefix": schema.key_prefix}, status_code=201
            )

        async def archive(request: Request) -> Response:
            body = await json_body(request)
            ids = body.get("ids") if isinstance(body, dict) else None
            if not isinstance(ids, list):
                return JSONResponse({"error": "ids (a list of Task/Event ids) required"}, 400)
            try:
                with self.lock:
                    changed = self.org.set_archived(
                        [str(i) for i in ids], bool(body.get("archived", True))
                    )
            except RecordError as exc:
                return JSONResponse({"error": exc.message}, status_code=exc.status)
            return JSONResponse({"changed": changed})

        p = "/salesforce"
        return [
            Route(f"{p}/demo", demo, methods=["GET"]),
            Route(f"{p}/users", users, methods=["POST"]),
            Route(f"{p}/apps", apps, methods=["POST"]),
            Route(f"{p}/sessions", sessions, methods=["GET", "POST"]),
            Route(f"{p}/sessions/expire", ending(True), methods=["POST"]),
            Route(f"{p}/sessions/revoke", ending(False), methods=["POST"]),
            Route(f"{p}/assignment-rule", assignment, methods=["POST", "DELETE"]),
            Route(f"{p}/limits", limits, methods=["GET", "POST"]),
            Route(f"{p}/objects", objects, methods=["POST"]),
            Route(f"{p}/archive", archive, methods=["POST"]),
        ]


def create_app(clock: SandboxClock | None = None) -> Starlette:
    """A ready Starlette app serving a fresh Salesforce emulator (serve it over TLS)."""
    clock = clock or SandboxClock()
    return build_app(SalesforceEmulator(clock), clock=clock)
