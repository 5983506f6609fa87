# ruff: noqa: E501 - verbatim vendor messages/templates and long test literals
"""Login endpoints: SOAP ``login`` (partner API), the OAuth token and revoke endpoints, and the
unauthenticated version list. Logins do not count toward the daily API budget."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET  # type: ignore[import-untyped]
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sla_sync.sandbox.salesforce.auth import ORG_ID, AuthError

if TYPE_CHECKING:
    from sla_sync.sandbox.salesforce.emulator import SalesforceEmulator

_LOGIN_OK = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result><metadataServerUrl>{instance}/services/Soap/m/{version}/{org}</metadataServerUrl><passwordExpired>false</passwordExpired><sandbox>false</sandbox><serverUrl>{instance}/services/Soap/u/{version}/{org}</serverUrl><sessionId>{session}</sessionId><userId>{user}</userId><userInfo><accessibilityMode>false</accessibilityMode><currencySymbol>$</currencySymbol><orgAttachmentFileSizeLimit>5242880</orgAttachmentFileSizeLimit><orgDefaultCurrencyIsoCode>USD</orgDefaultCurrencyIsoCode><orgDisallowHtmlAttachments>false</orgDisallowHtmlAttachments><orgHasPersonAccounts>false</orgHasPersonAccounts><organizationId>{org}</organizationId><organizationMultiCurrency>false</organizationMultiCurrency><organizationName>sla-sync sandbox</organizationName><profileId>00e5g000000AbcdAAC</profileId><roleId xsi:nil="true"/><sessionSecondsValid>7200</sessionSecondsValid><userDefaultCurrencyIsoCode xsi:nil="true"/><userEmail>{email}</userEmail><userFullName>{name}</userFullName><userId>{user}</userId><userLanguage>en_US</userLanguage><userLocale>en_US</userLocale><userName>{username}</userName><userTimeZone>America/Los_Angeles</userTimeZone><userType>Standard</userType><userUiSkin>Theme3</userUiSkin></userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"""

_LOGIN_FAULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{message}</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"""


def _soap_fault(code: str, message: str, status: int = 500) -> Response:
    body = _LOGIN_FAULT.format(code=escape(code), message=escape(message))
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8")


async def _form(request: Request) -> dict[str, str]:
    # Parsed by hand: Starlette's form parser needs python-multipart, which is not a dependency.
    return dict(
        parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def routes(emulator: SalesforceEmulator) -> list[BaseRoute]:
    """The login routes."""

    async def soap(request: Request) -> Response:
        version = request.path_params["version"]
        raw = await request.body()
        try:
            root = SafeET.fromstring(raw)
        except Exception:  # defusedxml raises several types for hostile or broken XML
            return _soap_fault("INVALID_LOGIN", "Invalid request body")
        values = {_local(el.tag): (el.text or "") for el in root.iter()}
        if "login" not in values:
            return _soap_fault("UNKNOWN_EXCEPTION", "only the login call is emulated")
        try:
            with emulator.lock:
                session = emulator.auth.soap_login(
                    values.get("username", ""),
                    values.get("password", ""),
                    values.get("organizationId"),
                    emulator.clock.now(),
                )
                user = emulator.org.records["User"].get(session.user_id, {})
        except AuthError as exc:
            return _soap_fault(exc.code, exc.message)
        body = _LOGIN_OK.format(
            instance=emulator.instance_url(request),
            version=escape(version),
            org=ORG_ID,
            session=escape(session.token),
            user=session.user_id,
            email=escape(str(user.get("Email") or session.username)),
            name=escape(str(user.get("Name") or session.username)),
            username=escape(session.username),
        )
        return Response(body, media_type="text/xml; charset=utf-8")

    async def token(request: Request) -> Response:
        form = await _form(request)
        try:
            with emulator.lock:
                now = emulator.clock.now()
                session = emulator.auth.token(form, request.headers.get("authorization"), now)
        except AuthError as exc:
            return JSONResponse(
                {"error": exc.code, "error_description": exc.message}, status_code=exc.status
            )
        instance = emulator.instance_url(request)
        return JSONResponse(
            {
                "access_token": session.token,
                "instance_url": instance,
                "id": f"{instance}/id/{ORG_ID}/{session.user_id}",
                "token_type": "Bearer",
                "issued_at": str(int(now.timestamp() * 1000)),
                "signature": "c2FuZGJveA==",
                "scope": "api",
            }
        )

    async def revoke(request: Request) -> Response:
        form = await _form(request)
        token_value = form.get("token") or request.query_params.get("token") or ""
        with emulator.lock:
            emulator.auth.revoke(token=token_value or "\x00")
        return Response(status_code=200)

    async def versions(request: Request) -> Response:
        return JSONResponse(
            [
                {"label": f"v{v}", "url": f"/services/data/v{v}", "version": v}
                for v in ("57.0", "58.0", "59.0", "60.0", "61.0", "62.0")
            ]
        )

    return [
        Route("/services/Soap/u/{version}", soap, methods=["POST"]),
        Route("/services/Soap/u/{version}/", soap, methods=["POST"]),
        Route("/services/oauth2/token", token, methods=["POST"]),
        Route("/services/oauth2/revoke", revoke, methods=["POST", "GET"]),
        Route("/services/data", versions, methods=["GET"]),
        Route("/services/data/", versions, methods=["GET"]),
    ]
