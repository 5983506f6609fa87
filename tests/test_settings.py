"""Runtime settings (``SLA_SYNC_*``) and secret resolution (``NAME``, ``NAME_FILE``, systemd).

Secrets are read from real files under ``tmp_path``; ``read_secret`` takes the environment as a
mapping, and one test goes through the process environment (``monkeypatch``) as callers do.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sla_sync.settings import DATABASE_FILE_NAME, MissingSecretError, Settings, read_secret

NAME = "HUBSPOT_TOKEN"
VALUE = "pat-na1-0123456789abcdef"  # a fake token: it must never appear in an error message


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- read_secret


def test_reads_the_variable_itself_stripped() -> None:
    assert read_secret(NAME, {NAME: f"  {VALUE}\n"}) == VALUE


def test_reads_the_file_named_by_name_file_stripped(tmp_path: Path) -> None:
    secret = write(tmp_path / "token", f"{VALUE}\n\n")
    assert read_secret(NAME, {f"{NAME}_FILE": str(secret)}) == VALUE


def test_reads_the_systemd_credentials_directory(tmp_path: Path) -> None:
    write(tmp_path / NAME, f"\t{VALUE} \n")
    assert read_secret(NAME, {"CREDENTIALS_DIRECTORY": str(tmp_path)}) == VALUE


def test_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NAME, VALUE)
    assert read_secret(NAME) == VALUE


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        pytest.param(("env", "file", "cred"), "from-env", id="variable-beats-file-and-credential"),
        pytest.param(("file", "cred"), "from-file", id="file-beats-credential"),
        pytest.param(("cred",), "from-cred", id="credential-last"),
        pytest.param(("blank-env", "file", "cred"), "from-file", id="blank-variable-is-unset"),
        pytest.param(("env", "bad-file"), "from-env", id="variable-wins-before-file-is-read"),
    ],
)
def test_precedence_is_variable_then_file_then_credentials_directory(
    tmp_path: Path, sources: tuple[str, ...], expected: str
) -> None:
    cred_dir = tmp_path / "credentials"
    cred_dir.mkdir()
    write(cred_dir / NAME, "from-cred")
    secret_file = write(tmp_path / "secret", "from-file\n")
    environ: dict[str, str] = {}
    if "env" in sources:
        environ[NAME] = "from-env"
    if "blank-env" in sources:
        environ[NAME] = "   "
    if "file" in sources:
        environ[f"{NAME}_FILE"] = str(secret_file)
    if "bad-file" in sources:
        environ[f"{NAME}_FILE"] = str(tmp_path / "missing")
    if "cred" in sources:
        environ["CREDENTIALS_DIRECTORY"] = str(cred_dir)
    assert read_secret(NAME, environ) == expected


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("missing-file", id="no-such-file"),
        pytest.param("directory", id="a-directory"),
        pytest.param(
            "no-permission",
            id="no-read-permission",
            marks=pytest.mark.skipif(
                not hasattr(os, "geteuid") or os.geteuid() == 0,
                reason="root reads files whatever their mode",
            ),
        ),
    ],
)
def test_unreadable_name_file_is_an_error_not_a_fallback(tmp_path: Path, target: str) -> None:
    # A credentials directory that would have the value must not hide a broken NAME_FILE.
    cred_dir = tmp_path / "credentials"
    cred_dir.mkdir()
    write(cred_dir / NAME, VALUE)
    if target == "missing-file":
        path = tmp_path / "nope"
    elif target == "directory":
        path = tmp_path / "a-dir"
        path.mkdir()
    else:
        path = write(tmp_path / "locked", VALUE)
        path.chmod(0)
    environ = {f"{NAME}_FILE": str(path), "CREDENTIALS_DIRECTORY": str(cred_dir)}
    with pytest.raises(MissingSecretError) as caught:
        read_secret(NAME, environ)
    message = str(caught.value)
    assert f"{NAME}_FILE" in message
    assert str(path) in message
    assert "cannot be read" in message
    assert VALUE not in message


@pytest.mark.parametrize("content", ["", "\n", "  \t\n"])
def test_empty_name_file_is_an_error(tmp_path: Path, content: str) -> None:
    path = write(tmp_path / "empty", content)
    with pytest.raises(MissingSecretError, match="empty") as caught:
        read_secret(NAME, {f"{NAME}_FILE": str(path)})
    assert f"{NAME}_FILE" in str(caught.value)


def test_empty_credential_file_counts_as_missing(tmp_path: Path) -> None:
    write(tmp_path / NAME, "\n")
    with pytest.raises(MissingSecretError, match=f"secret {NAME} is not set"):
        read_secret(NAME, {"CREDENTIALS_DIRECTORY": str(tmp_path)})


def test_missing_everywhere_names_the_variable_and_no_value(tmp_path: Path) -> None:
    # Other secrets are around (another variable, another credential): none may leak.
    write(tmp_path / "SALESFORCE_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----secret")
    environ = {
        "SALESFORCE_CONSUMER_KEY": VALUE,
        "CREDENTIALS_DIRECTORY": str(tmp_path),
    }
    with pytest.raises(MissingSecretError) as caught:
        read_secret(NAME, environ)
    message = str(caught.value)
    assert f"secret {NAME} is not set" in message
    assert f"{NAME}_FILE" in message  # tells ops every way to provide it
    assert "systemd credential" in message
    assert VALUE not in message
    assert "PRIVATE KEY" not in message


def test_missing_secret_error_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        read_secret(NAME, {})


# --------------------------------------------------------------------------- Settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No ``SLA_SYNC_*`` variable from the outer environment; cwd is ``tmp_path``."""
    for key in list(os.environ):
        if key.startswith("SLA_SYNC_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_settings_default_to_a_sqlite_file_under_the_default_data_dir(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = Settings()
    assert settings.data_dir == Path(".sla-sync")
    assert settings.database_url is None
    assert settings.config_file == Path("config/sla-sync.yaml")
    expected = (tmp_path / ".sla-sync" / DATABASE_FILE_NAME).resolve()
    assert settings.effective_database_url() == f"sqlite:///{expected}"


def test_settings_read_the_data_dir_from_the_environment(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    clean_env.setenv("SLA_SYNC_DATA_DIR", str(data_dir))
    settings = Settings()
    assert settings.data_dir == data_dir
    assert settings.effective_database_url() == f"sqlite:///{data_dir.resolve()}/sla-sync.db"


def test_relative_data_dir_resolves_against_the_working_directory(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("SLA_SYNC_DATA_DIR", "var/state")
    url = Settings().effective_database_url()
    assert url == f"sqlite:///{(tmp_path / 'var' / 'state' / 'sla-sync.db').resolve()}"


def test_database_url_from_the_environment_wins_over_the_data_dir(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = "postgresql+psycopg://sla:pw@db.internal:5432/sla_sync"
    clean_env.setenv("SLA_SYNC_DATA_DIR", str(tmp_path / "data"))
    clean_env.setenv("SLA_SYNC_DATABASE_URL", url)
    settings = Settings()
    assert settings.database_url == url
    assert settings.effective_database_url() == url


def test_empty_database_url_falls_back_to_sqlite(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("SLA_SYNC_DATA_DIR", str(tmp_path))
    clean_env.setenv("SLA_SYNC_DATABASE_URL", "")
    assert Settings().effective_database_url() == f"sqlite:///{tmp_path.resolve()}/sla-sync.db"


def test_unknown_sla_sync_variables_are_ignored(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SLA_SYNC_SOMETHING_ELSE", "1")
    clean_env.setenv("SLA_SYNC_CONFIG_FILE", "/etc/sla-sync/sla-sync.yaml")
    settings = Settings()
    assert settings.config_file == Path("/etc/sla-sync/sla-sync.yaml")
    assert not hasattr(settings, "something_else")
