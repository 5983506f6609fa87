"""CRM connections: non-secret settings in the file, credentials by environment variable name.

A connection never holds a credential value. Each credential is named by a ``<credential>_env``
key whose value is the variable that carries it; :meth:`ConnectionSpec.resolve_credentials`
reads the values with :func:`sla_sync.settings.read_secret` (``NAME``, ``NAME_FILE`` or
``$CREDENTIALS_DIRECTORY/NAME``), so the same file works with plain environment variables,
Docker/Kubernetes secret files and systemd credentials.

The reader is passed in by the caller rather than imported: the import-linter layers contract
makes ``sla_sync.definitions`` and ``sla_sync.settings`` independent siblings, so this package may
not import ``settings``. Callers write ``connection.resolve_credentials(read_secret)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sla_sync.definitions.scalars import EnvName, Identifier, Share
from sla_sync.domain import CrmKind

SecretReader = Callable[[str, Mapping[str, str] | None], str]
"""``read_secret(name, environ)`` of :mod:`sla_sync.settings`."""


class Spec(BaseModel):
    """Base of every model of the language: unknown keys are errors (typos must not pass
    silently), values are immutable, and numbers are accepted where text is expected (a team
    called ``42``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def _url(*schemes: str) -> Any:
    def check(value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.hostname:
            raise ValueError(f"expected a {' or '.join(schemes)} URL such as {schemes[-1]}://host")
        if parts.username or parts.password:
            raise ValueError("a URL must not carry credentials; use the *_env keys")
        return value.rstrip("/")

    return AfterValidator(check)


HttpUrl = Annotated[str, _url("http", "https")]
HttpsUrl = Annotated[str, _url("https")]

_FIELD_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,99}$"
#: An agreement's lead field name (what ``when:`` and ``value_field`` read).
LeadFieldName = Annotated[str, Field(pattern=_FIELD_NAME)]
#: A CRM property / field API name (HubSpot ``hubspotscore``, Salesforce ``Rating__c``).
CrmFieldName = Annotated[str, Field(pattern=_FIELD_NAME)]

#: Where the lead fields the example and sandbox definitions use live in each CRM when the
#: connection's ``fields:`` does not say. Any other name maps to the property of the same name.
DEFAULT_FIELDS: Mapping[CrmKind, Mapping[str, str]] = {
    CrmKind.HUBSPOT: {
        "lead_score": "hubspotscore",
        "lead_source": "hs_analytics_source",
        "employees": "numemployees",
        "annual_revenue": "annualrevenue",
    },
    CrmKind.SALESFORCE: {
        "lead_source": "LeadSource",
        "rating": "Rating",
        "country": "Country",
        "phone": "Phone",
        "employees": "NumberOfEmployees",
        "industry": "Industry",
        "annual_revenue": "AnnualRevenue",
        "state": "State",
    },
}


class ConnectionSpec(Spec):
    """Settings shared by both CRMs.

    ``ca_bundle``: PEM file of extra trusted CAs (a TLS proxy, the sandbox's throw-away CA); TLS
    verification itself cannot be switched off. ``daily_quota_share``: the share of the CRM's
    daily API quota sla-sync may spend (the rest belongs to the company's other integrations).
    ``fields``: agreement lead field name -> CRM property name (``lead_score: hubspotscore``);
    names not listed use :data:`DEFAULT_FIELDS` of the CRM, else the property of the same name.
    """

    name: Identifier
    description: str | None = None
    ca_bundle: Path | None = None
    daily_quota_share: Share = 0.5
    fields: dict[LeadFieldName, CrmFieldName] = Field(default_factory=dict)

    #: credential -> the key naming its variable; filled by subclasses
    _credential_keys: ClassVar[tuple[str, ...]] = ()

    @property
    def crm(self) -> CrmKind:
        """The CRM this connection talks to."""
        raise NotImplementedError

    def crm_field(self, name: str) -> str:
        """The CRM property that carries the agreement lead field ``name``."""
        if name in self.fields:
            return self.fields[name]
        return DEFAULT_FIELDS.get(self.crm, {}).get(name, name)

    def field_map(self, names: Iterable[str]) -> dict[str, str]:
        """``{lead field: CRM property}`` for ``names`` and every field listed in ``fields``
        (what the connector pulls into :attr:`sla_sync.domain.Lead.fields`)."""
        return {name: self.crm_field(name) for name in sorted({*names, *self.fields})}

    def credential_env(self) -> dict[str, str]:
        """``{"token": "HUBSPOT_TOKEN", ...}``: credential name -> variable name, for the
        credentials this connection names."""
        out: dict[str, str] = {}
        for credential in self._credential_keys:
            variable = getattr(self, f"{credential}_env")
            if variable:
                out[credential] = variable
        return out

    def settings(self) -> dict[str, Any]:
        """The non-secret settings (everything but name, kind and credential variables)."""
        skip = {"name", "kind", *(f"{c}_env" for c in self._credential_keys)}
        return {k: v for k, v in self.model_dump().items() if k not in skip}

    def resolve_credentials(
        self, read_secret: SecretReader, environ: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Credential values by credential name, each read with ``read_secret(variable,
        environ)`` (pass :func:`sla_sync.settings.read_secret`).

        Literal non-secret identifiers the file may give directly (a Salesforce ``username`` or
        ``consumer_key``) are included as written.

        Raises:
            sla_sync.settings.MissingSecretError: a named variable is not set anywhere; the
                message names the variable, never a value.
        """
        return {c: read_secret(v, environ) for c, v in self.credential_env().items()}


class HubSpotConnection(ConnectionSpec):
    """A HubSpot portal reached with a private-app (or OAuth) access token.

    ``base_url``: API host override (the sandbox emulator, a proxy); default HubSpot's.
    ``api_tier``: the portal's subscription, which sets its rate limits.
    """

    kind: Literal["hubspot"]
    portal_id: Annotated[int, Field(gt=0)] | None = None
    base_url: HttpUrl | None = None
    api_tier: Literal["free", "starter", "professional", "enterprise"] = "professional"
    api_limit_increase: bool = False
    token_env: EnvName

    _credential_keys: ClassVar[tuple[str, ...]] = ("token",)

    @property
    def crm(self) -> CrmKind:
        return CrmKind.HUBSPOT


class SalesforceConnection(ConnectionSpec):
    """A Salesforce org.

    ``auth``: ``password`` (username, password, security token: SOAP login), ``jwt`` (username,
    consumer key, private key: OAuth JWT bearer) or ``client_credentials`` (consumer key and
    secret; needs a My Domain ``login_host``). ``login_host``: ``login.salesforce.com``,
    ``test.salesforce.com`` (sandboxes: ``sandbox: true`` implies it) or ``<domain>.my
    .salesforce.com``. ``instance_url``: the org's API host when it is known or overridden (the
    emulator). ``username`` and ``consumer_key`` are identifiers, not secrets, and may be given
    literally or by variable.
    """

    kind: Literal["salesforce"]
    instance_url: HttpsUrl | None = None
    login_host: str | None = None
    sandbox: bool = False
    api_version: Annotated[str, Field(pattern=r"^\d{2,3}\.0$")] | None = None
    auth: Literal["password", "jwt", "client_credentials"] = "password"
    username: str | None = None
    username_env: EnvName | None = None
    consumer_key: str | None = None
    consumer_key_env: EnvName | None = None
    password_env: EnvName | None = None
    security_token_env: EnvName | None = None
    consumer_secret_env: EnvName | None = None
    private_key_env: EnvName | None = None

    _credential_keys: ClassVar[tuple[str, ...]] = (
        "username",
        "consumer_key",
        "password",
        "security_token",
        "consumer_secret",
        "private_key",
    )

    @property
    def crm(self) -> CrmKind:
        return CrmKind.SALESFORCE

    def effective_login_host(self) -> str:
        """``login_host`` or the default for ``sandbox``."""
        return effective_login_host(self.login_host, self.sandbox)

    def resolve_credentials(
        self, read_secret: SecretReader, environ: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        out = super().resolve_credentials(read_secret, environ)
        if self.username and "username" not in out:
            out["username"] = self.username
        if self.consumer_key and "consumer_key" not in out:
            out["consumer_key"] = self.consumer_key
        return out

    def required_credentials(self) -> tuple[str, ...]:
        """Credentials ``auth`` needs (``security_token`` is optional: IP-allowlisted orgs)."""
        return REQUIRED_CREDENTIALS[self.auth]


REQUIRED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "password": ("username", "password"),
    "jwt": ("username", "consumer_key", "private_key"),
    "client_credentials": ("consumer_key", "consumer_secret"),
}
"""Salesforce ``auth`` -> the credentials it needs."""


def effective_login_host(login_host: str | None, sandbox: bool) -> str:
    """The Salesforce login host: ``login_host`` or the default for ``sandbox``."""
    if login_host:
        return login_host
    return "test.salesforce.com" if sandbox else "login.salesforce.com"


Connection = Annotated[HubSpotConnection | SalesforceConnection, Field(discriminator="kind")]
