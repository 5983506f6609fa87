"""Runtime settings and secrets.

Settings come from ``SLA_SYNC_*`` environment variables (pydantic-settings). Secrets are never read
from configuration files: a connection names the *variable* that carries each credential and
:func:`read_secret` resolves it, in this order:

1. the environment variable ``NAME`` itself;
2. ``NAME_FILE``: the path of a file holding the value (Docker / Kubernetes secrets);
3. ``$CREDENTIALS_DIRECTORY/NAME`` (systemd ``LoadCredential=``).

Values are stripped of surrounding whitespace (files usually end in a newline). Error messages name
the variable, never a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path(".sla-sync")
DATABASE_FILE_NAME = "sla-sync.db"


class MissingSecretError(LookupError):
    """A credential variable is not set anywhere it may come from."""


class Settings(BaseSettings):
    """Process-wide settings (``SLA_SYNC_DATA_DIR``, ``SLA_SYNC_DATABASE_URL``, ...)."""

    model_config = SettingsConfigDict(env_prefix="SLA_SYNC_", extra="ignore")

    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        description="Directory for the SQLite database, reports and lock files.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file under the data directory.",
    )
    config_file: Path = Field(
        default=Path("config/sla-sync.yaml"),
        description="The SLA definition file ops maintains.",
    )

    def effective_database_url(self) -> str:
        """The configured URL, or ``sqlite:///<data_dir>/sla-sync.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / DATABASE_FILE_NAME).resolve()}"


def read_secret(name: str, environ: Mapping[str, str] | None = None) -> str:
    """Return the value of the credential variable ``name``.

    Raises:
        MissingSecretError: none of ``NAME``, ``NAME_FILE`` or ``$CREDENTIALS_DIRECTORY/NAME``
            gives a non-empty value, or ``NAME_FILE`` names a file that cannot be read.
    """
    env = os.environ if environ is None else environ
    direct = env.get(name, "").strip()
    if direct:
        return direct
    file_path = env.get(f"{name}_FILE", "").strip()
    if file_path:
        try:
            value = Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise MissingSecretError(
                f"{name}_FILE points to {file_path!r}, which cannot be read ({exc.strerror})"
            ) from None
        if value:
            return value
        raise MissingSecretError(f"{name}_FILE points to {file_path!r}, which is empty")
    cred_dir = env.get("CREDENTIALS_DIRECTORY", "").strip()
    if cred_dir:
        candidate = Path(cred_dir) / name
        if candidate.is_file():
            value = candidate.read_text(encoding="utf-8").strip()
            if value:
                return value
    raise MissingSecretError(
        f"secret {name} is not set: export {name}, or {name}_FILE=<path>, "
        f"or provide it as a systemd credential named {name}"
    )
