"""The deployment files under deploy/ (Dockerfile, compose, systemd, Kubernetes) say what the
program does.

Every ``sla-sync ...`` command they run or quote in backticks is a command of ``sla_sync.cli``
with options it accepts; every ``SLA_SYNC_*`` variable they set is a setting, a CLI variable or a
secret a shipped definition names; every ``*_FILE`` / ``LoadCredential=`` is a secret a
definition reads; the YAML passes yamllint (``deploy/.yamllint``); the worker runs as one
replica, non-root, migrations first, with a stop timeout that covers a CRM call's retries and a
grace period that covers the stop timeout; no real secret is committed. When the tools are on
the machine, ``systemd-analyze verify`` and ``kubectl kustomize`` check the units and the
kustomization too.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from sla_sync.cli import main as cli_main
from sla_sync.connectors.ratelimit import RetryPolicy
from sla_sync.definitions import check_config_file
from sla_sync.definitions.operations import WorkerSpec
from sla_sync.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
SYSTEMD = DEPLOY / "systemd"
UNIT = SYSTEMD / "sla-sync.service"  # the resident worker
ONCE_UNIT = SYSTEMD / "sla-sync-once.service"  # its alternative, started by sla-sync-once.timer
EXAMPLE_CONFIG = ROOT / "config" / "sla-sync.example.yaml"

# Manifests deliberately outside kustomization.yaml (its header says why).
NOT_IN_KUSTOMIZATION = {"secret.example.yaml", "migrate-job.yaml", "cronjob.yaml"}
# After SIGTERM `sla-sync run` gives the running cycle --stop-timeout seconds to reach a
# checkpoint; that should cover one CRM call's retries, and the platform's grace period (before
# SIGKILL) should cover --stop-timeout with this much to spare for the shutdown itself.
GRACE_MARGIN_SECONDS = 30.0


# --------------------------------------------------------------------------- helpers


def yaml_files() -> list[Path]:
    return sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml"), DEPLOY / ".yamllint"])


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def k8s_docs() -> list[tuple[str, dict[str, Any]]]:
    """(file name, document) of every manifest (cronjob.yaml holds several documents)."""
    return [
        (p.name, doc)
        for p in sorted(K8S.glob("*.yaml"))
        for doc in yaml.safe_load_all(p.read_text(encoding="utf-8"))
        if doc
    ]


def k8s_doc(kind: str, name: str) -> dict[str, Any]:
    (doc,) = (d for _, d in k8s_docs() if d["kind"] == kind and d["metadata"]["name"] == name)
    return doc


def configmap_definition() -> str:
    text: str = k8s_doc("ConfigMap", "sla-sync-config")["data"]["sla-sync.yaml"]
    return text


@dataclass(frozen=True)
class Invocation:
    """One ``sla-sync`` command line found in a deployment file."""

    where: str
    argv: tuple[str, ...]  # after "sla-sync"


@dataclass(frozen=True)
class Container:
    """A container (Kubernetes) or service (compose) that runs the sla-sync image."""

    where: str
    argv: tuple[str, ...]
    env: dict[str, Any]
    spec: dict[str, Any]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined: list[str] = []
    buffer = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if buffer and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        joined.append(buffer + line)
        buffer = ""
    out = []
    for line in joined:
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (k, _) in enumerate(instructions) if k == "FROM")
    return instructions[last_from:]


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in final_stage():
        if keyword == "ENV":
            for token in shlex.split(rest):
                key, _, value = token.partition("=")
                env[key] = value
    return env


def image_entrypoint() -> tuple[str, ...]:
    for keyword, rest in reversed(final_stage()):
        if keyword == "ENTRYPOINT":
            return tuple(json.loads(rest))
    raise AssertionError("no ENTRYPOINT in the final stage")


def image_cmd() -> tuple[str, ...]:
    for keyword, rest in reversed(final_stage()):
        if keyword == "CMD":
            return tuple(json.loads(rest))
    raise AssertionError("no CMD in the final stage")


def _sla_sync_argv(where: str, argv: tuple[str, ...]) -> tuple[str, ...]:
    assert argv, f"{where}: empty command"
    assert Path(argv[0]).name == "sla-sync", f"{where}: runs {argv[0]!r}, not sla-sync"
    return argv[1:]


def compose_containers() -> list[Container]:
    doc = load_yaml(COMPOSE)
    found = []
    for name, service in doc["services"].items():
        if not str(service.get("image", "")).startswith("sla-sync"):
            continue
        entry = tuple(service.get("entrypoint") or image_entrypoint())
        command = tuple(service.get("command") or image_cmd())
        where = f"compose.yaml services.{name}"
        found.append(
            Container(
                where,
                _sla_sync_argv(where, entry + command),
                dict(service.get("environment") or {}),
                service,
            )
        )
    return found


def _pod_specs(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    kind = doc.get("kind")
    if kind in {"Deployment", "Job", "StatefulSet", "DaemonSet"}:
        yield doc["spec"]["template"]["spec"]
    elif kind == "CronJob":
        yield doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def k8s_containers() -> list[Container]:
    found = []
    for file, doc in k8s_docs():
        for pod in _pod_specs(doc):
            for group in ("initContainers", "containers"):
                for c in pod.get(group, []):
                    if not c["image"].split("/")[-1].startswith("sla-sync"):
                        continue
                    where = f"{file} {doc['metadata']['name']} {group}[{c['name']}]"
                    argv = tuple(c.get("command") or image_entrypoint()) + tuple(
                        c.get("args") or image_cmd()
                    )
                    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}
                    found.append(Container(where, _sla_sync_argv(where, argv), env, c))
    return found


def service_units() -> list[Path]:
    return sorted(SYSTEMD.glob("*.service"))


def unit_entries(unit: Path, section: str | None = None) -> list[tuple[str, str]]:
    """(key, value) lines of a unit file, in order (optionally of one section)."""
    entries = []
    current = None
    for raw in unit.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        if section is None or current == section:
            entries.append((key.strip(), value.strip()))
    return entries


def unit_value(unit: Path, key: str) -> str:
    values = [v for k, v in unit_entries(unit) if k == key]
    assert values, f"{unit.name} has no {key}="
    return values[-1]


def unit_invocations(unit: Path) -> list[Invocation]:
    found = []
    for key, value in unit_entries(unit, "Service"):
        if key.startswith("Exec"):
            argv = tuple(shlex.split(value.lstrip("-+!@:")))
            found.append(Invocation(f"{unit.name} {key}", _sla_sync_argv(key, argv)))
    return found


def unit_env(unit: Path) -> dict[str, str]:
    env = {}
    for key, value in unit_entries(unit, "Service"):
        if key == "Environment":
            for token in shlex.split(value):
                name, _, val = token.partition("=")
                env[name] = val
    return env


_BACKTICKED = re.compile(r"`sla-sync ([^`]*)`")


def comment_invocations() -> list[Invocation]:
    """``sla-sync ...`` commands quoted in backticks anywhere under deploy/ (comments, docs)."""
    found = []
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in _BACKTICKED.finditer(line):
                argv = tuple(shlex.split(match.group(1).replace("...", "")))
                found.append(Invocation(f"{path.relative_to(DEPLOY.parent)}:{number}", argv))
    return found


def all_invocations() -> list[Invocation]:
    return [
        Invocation(
            "Dockerfile ENTRYPOINT+CMD",
            _sla_sync_argv("Dockerfile", image_entrypoint() + image_cmd()),
        ),
        *(Invocation(c.where, c.argv) for c in compose_containers()),
        *(Invocation(c.where, c.argv) for c in k8s_containers()),
        *(i for unit in service_units() for i in unit_invocations(unit)),
        *comment_invocations(),
    ]


def resolve(argv: tuple[str, ...]) -> str | None:
    """None when ``sla-sync <argv>`` is a command of the CLI with options it accepts, else why."""
    command: click.Command = cli_main
    path = ["sla-sync"]
    args = list(argv)
    while isinstance(command, click.Group):
        if not args or args[0].startswith("-"):
            if "--help" in args or "-h" in args or "--version" in args:
                return None
            return f"{' '.join(path)} is a group: name one of {sorted(command.commands)}"
        name = args.pop(0)
        ctx = click.Context(command, info_name=path[-1])
        sub = command.get_command(ctx, name)
        if sub is None:
            return f"{' '.join(path)} has no command {name!r} (has {sorted(command.commands)})"
        command = sub
        path.append(name)
    if "--help" in args or "-h" in args:
        return None
    try:
        command.make_context(" ".join(path), args, resilient_parsing=False)
    except click.UsageError as exc:
        return f"{' '.join(path)}: {exc.format_message()}"
    return None


def stop_timeout(argv: tuple[str, ...]) -> float:
    """The ``--stop-timeout`` of a ``run`` command line (its default when not given)."""
    assert argv[0] == "run", argv
    command = cli_main.commands["run"]
    params = command.make_context("run", list(argv[1:]), resilient_parsing=False).params
    return float(params["stop_timeout"])


def assert_graceful(where: str, argv: tuple[str, ...], grace: float) -> None:
    """The worker's own stop timeout covers a CRM call's retries, the grace period covers it."""
    timeout = stop_timeout(argv)
    assert timeout >= RetryPolicy().max_wait, (
        f"{where}: --stop-timeout {timeout} < a call's retries"
    )
    assert grace >= timeout + GRACE_MARGIN_SECONDS, f"{where}: {grace} s grace, {timeout} s stop"


def cli_envvars() -> set[str]:
    names: set[str] = set()

    def walk(command: click.Command) -> None:
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            if isinstance(envvar, str):
                names.add(envvar)
            elif envvar:
                names.update(envvar)
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                walk(sub)

    walk(cli_main)
    return names


def settings_envvars() -> set[str]:
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def secret_variables() -> set[str]:
    """Variables the shipped definitions read with read_secret (every ``*_env`` value)."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if str(key).endswith("_env") and isinstance(value, str):
                    names.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(load_yaml(EXAMPLE_CONFIG))
    walk(yaml.safe_load(configmap_definition()))
    return names


def env_problem(name: str) -> str | None:
    """Why setting ``name`` for sla-sync would do nothing (None: it is read)."""
    known = settings_envvars() | cli_envvars()
    secrets = secret_variables()
    if name.endswith("_FILE"):
        base = name.removesuffix("_FILE")
        if base in secrets:
            return None
        if base in known:
            return f"{name}: sla-sync reads {base} from the environment only (no _FILE variant)"
        return f"{name}: {base} is not a secret any definition names"
    if name.startswith("SLA_SYNC_") and name not in known | secrets:
        return f"{name}: not a setting ({sorted(known)}) nor a secret of the definitions"
    return None


def seconds(text: str | int) -> float:
    """``300``, ``"5m"``, ``"5min"``, ``"300s"``, ``"1h"`` -> seconds."""
    if isinstance(text, int):
        return float(text)
    match = re.fullmatch(r"(\d+)\s*(s|sec|m|min|h)?", str(text).strip())
    assert match, f"unreadable duration {text!r}"
    factor = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, None: 1}[match.group(2)]
    return float(int(match.group(1)) * factor)


# --------------------------------------------------------------------------- YAML lint


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yaml_passes_yamllint(path: Path) -> None:
    conf = YamlLintConfig(file=str(DEPLOY / ".yamllint"))
    problems = list(linter.run(path.read_text(encoding="utf-8"), conf, str(path)))
    assert not problems, "\n".join(
        f"{path}:{p.line}:{p.column}: {p.desc} ({p.rule})" for p in problems
    )


def test_the_kubernetes_definition_is_a_valid_and_linted_definition(tmp_path: Path) -> None:
    text = configmap_definition()
    conf = YamlLintConfig(file=str(DEPLOY / ".yamllint"))
    assert not list(linter.run(text, conf))
    target = tmp_path / "sla-sync.yaml"
    target.write_text(text, encoding="utf-8")
    assert check_config_file(target) == []


# --------------------------------------------------------------------------- commands


def test_every_referenced_command_exists() -> None:
    invocations = all_invocations()
    # The parsers found what the files run (a parser that finds nothing would pass vacuously).
    assert {("run",), ("db", "upgrade")} <= {i.argv[:2] for i in invocations} | {
        i.argv[:1] for i in invocations
    }
    problems = [
        f"{i.where}: sla-sync {' '.join(i.argv)}: {why}"
        for i in invocations
        if (why := resolve(i.argv))
    ]
    assert not problems, "\n".join(problems)


def test_a_command_that_does_not_exist_is_caught() -> None:
    assert resolve(("db", "upgrade")) is None
    assert resolve(("sync", "--dry-run")) is None
    assert resolve(("db", "downgrade")) is not None
    assert resolve(("sync", "--dryrun")) is not None
    assert resolve(("db",)) is not None


# --------------------------------------------------------------------------- variables


def test_every_variable_set_for_sla_sync_is_one_it_reads() -> None:
    sources = {
        "Dockerfile ENV": dockerfile_env(),
        **{unit.name: unit_env(unit) for unit in service_units()},
        **{c.where: c.env for c in compose_containers()},
        **{c.where: c.env for c in k8s_containers()},
    }
    problems = [
        f"{where}: {why}"
        for where, env in sources.items()
        for name in env
        if (why := env_problem(name))
    ]
    assert not problems, "\n".join(problems)
    assert env_problem("SLA_SYNC_DATABASE_URL_FILE") is not None
    assert env_problem("SLA_SYNC_DATA_DIRR") is not None


@pytest.mark.parametrize("unit", service_units(), ids=lambda p: p.name)
def test_systemd_credentials_are_secrets_the_definition_reads(unit: Path) -> None:
    ids = [v.split(":", 1)[0] for k, v in unit_entries(unit, "Service") if k == "LoadCredential"]
    assert "HUBSPOT_TOKEN" in ids
    unknown = set(ids) - secret_variables()
    assert not unknown, f"credentials no definition reads: {sorted(unknown)}"


# --------------------------------------------------------------------------- Dockerfile


def test_dockerfile_runs_sla_sync_as_pid_1_non_root_with_a_health_check() -> None:
    stages = [rest for k, rest in dockerfile_instructions() if k == "FROM"]
    assert len(stages) >= 2, "multi-stage: wheels are built in a stage of their own"
    final = final_stage()
    entry = next(rest for k, rest in reversed(final) if k == "ENTRYPOINT")
    assert entry.startswith("["), "exec form: the worker itself receives SIGTERM"
    assert image_entrypoint() == ("sla-sync",)
    assert image_cmd() == ("run",)
    user = next(rest for k, rest in reversed(final) if k == "USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "a fixed numeric non-root UID (runAsNonRoot checks it)"
    assert ("STOPSIGNAL", "SIGTERM") in final
    port = WorkerSpec().health_port
    assert ("EXPOSE", str(port)) in final
    health = next(rest for k, rest in final if k == "HEALTHCHECK")
    assert "curl" not in health and '"python"' in health
    assert f"127.0.0.1:{port}/healthz" in health
    env = dockerfile_env()
    assert env["SLA_SYNC_CONFIG"] == "/etc/sla-sync/sla-sync.yaml"
    assert ("WORKDIR", env["SLA_SYNC_DATA_DIR"]) in final


def test_dockerignore_lets_in_what_the_dockerfile_copies() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    included = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert "*" in ignore, "everything else stays out of the build context"
    for keyword, rest in dockerfile_instructions():
        if keyword == "COPY" and "--from" not in rest:
            for source in shlex.split(rest)[:-1]:
                assert source.rstrip("/") in included, f"COPY {source}: excluded from the context"


# --------------------------------------------------------------------------- compose


def test_compose_migrates_before_the_worker_starts() -> None:
    services = load_yaml(COMPOSE)["services"]
    postgres = services["postgres"]
    assert postgres["image"].split(":")[1].startswith("16")
    assert "healthcheck" in postgres
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    worker = services["worker"]
    assert worker["command"][0] == "run" and "--once" not in worker["command"]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert worker["restart"] == "unless-stopped"
    assert_graceful(
        "compose worker", tuple(worker["command"]), seconds(worker["stop_grace_period"])
    )
    assert all(p.startswith("127.0.0.1:") for p in worker["ports"]), "health port: this host only"


def test_compose_secrets_are_git_ignored_files_read_through_file_variables() -> None:
    doc = load_yaml(COMPOSE)
    worker = doc["services"]["worker"]
    mounted = set(worker["secrets"])
    for name, value in worker["environment"].items():
        if name.endswith("_FILE"):
            secret = value.removeprefix("/run/secrets/")
            assert secret in mounted, f"{name}={value}: no such secret mounted"
    ignored = (DEPLOY / ".gitignore").read_text(encoding="utf-8").splitlines()
    for name, secret in doc["secrets"].items():
        directory = Path(secret["file"]).parts[-2]
        assert f"{directory}/" in ignored, f"secret {name}: {secret['file']} is not git-ignored"
    config = Path(dockerfile_env()["SLA_SYNC_CONFIG"])
    assert any(v.endswith(f":{config}:ro") for v in worker["volumes"]), (
        "definition mounted read-only"
    )


# --------------------------------------------------------------------------- systemd


@pytest.mark.parametrize("unit", service_units(), ids=lambda p: p.name)
def test_systemd_units_migrate_first_and_stop_gracefully(unit: Path) -> None:
    invocations = [(i.where.split()[-1], i.argv) for i in unit_invocations(unit)]
    assert [(key, argv[:2]) for key, argv in invocations[:1]] == [
        ("ExecStartPre", ("db", "upgrade"))
    ]
    ((key, argv),) = invocations[1:]
    assert key == "ExecStart" and argv[0] == "run"
    assert unit_value(unit, "KillSignal") == "SIGTERM"
    assert_graceful(unit.name, argv, seconds(unit_value(unit, "TimeoutStopSec")))
    assert unit_value(unit, "DynamicUser") == "yes"
    assert unit_env(unit)["SLA_SYNC_DATA_DIR"] == f"%S/{unit_value(unit, 'StateDirectory')}"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
    }.items():
        assert unit_value(unit, key) == value, f"{unit.name}: {key}"


def test_resident_unit_and_timer_unit_are_alternatives_on_the_same_state() -> None:
    resident = unit_invocations(UNIT)[-1].argv
    once = unit_invocations(ONCE_UNIT)[-1].argv
    assert unit_value(UNIT, "Type") == "exec" and "--once" not in resident
    assert unit_value(UNIT, "Restart") == "on-failure"
    assert unit_value(ONCE_UNIT, "Type") == "oneshot"
    assert "--once" in once and "--no-standby" in once, "never waits behind a resident worker"
    assert unit_value(ONCE_UNIT, "SuccessExitStatus") == "3", "partial is not a unit failure"
    timer = ONCE_UNIT.with_suffix(".timer")
    assert unit_value(timer, "OnCalendar")
    for key in ("User", "StateDirectory", "LoadCredential", "EnvironmentFile"):
        same = [v for k, v in unit_entries(UNIT) if k == key]
        assert same == [v for k, v in unit_entries(ONCE_UNIT) if k == key], key


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    units = next(
        (d for d in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if d.is_dir()),
        None,
    )
    if tool is None or units is None:
        pytest.skip("systemd-analyze or the system's unit directory is not on this machine")
    # A root holding the distribution's units, the units under test and a stub for the binary
    # they run (verify checks that ExecStart's program exists).
    root = tmp_path / "root"
    shutil.copytree(units, root / "usr/lib/systemd/system", symlinks=True)
    (root / "etc/systemd/system").mkdir(parents=True)
    ours = sorted(p for p in SYSTEMD.iterdir() if p.suffix in {".service", ".timer"})
    for path in ours:
        shutil.copy(path, root / "etc/systemd/system" / path.name)
    for unit in service_units():
        binary = Path(shlex.split(unit_value(unit, "ExecStart"))[0])
        stub = root / binary.relative_to("/")
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\n", encoding="utf-8")
        stub.chmod(0o755)
    result = subprocess.run(
        [tool, "verify", f"--root={root}", *(p.name for p in ours)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # verify warns about unknown keys or bad values on stderr but still exits 0; warnings about
    # the distribution's own units are not these files' business.
    output = result.stdout + result.stderr
    about_ours = [line for line in output.splitlines() if any(p.name in line for p in ours)]
    assert result.returncode == 0 and not about_ours, output


# --------------------------------------------------------------------------- Kubernetes


def test_deployment_is_one_replica_recreated_non_root_with_probes() -> None:
    deployment = k8s_doc("Deployment", "sla-sync")
    assert deployment["spec"]["replicas"] == 1, "two workers would sync the same CRM twice"
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}, "never two, even in a rollout"
    pod = deployment["spec"]["template"]["spec"]
    uid = int(next(rest for k, rest in reversed(final_stage()) if k == "USER").split(":")[0])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == uid
    assert [c["args"] for c in pod["initContainers"]] == [["db", "upgrade"]]
    worker = next(c for c in pod["containers"] if c["name"] == "worker")
    assert worker["args"][0] == "run" and "--once" not in worker["args"]
    assert_graceful("deployment", tuple(worker["args"]), pod["terminationGracePeriodSeconds"])
    spec = WorkerSpec.model_validate(yaml.safe_load(configmap_definition())["worker"])
    assert spec.health_host == "0.0.0.0", "probes come from outside the pod's loopback"
    port = next(
        p for p in worker["ports"] if p["name"] == worker["livenessProbe"]["httpGet"]["port"]
    )
    assert port["containerPort"] == spec.health_port
    assert worker["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert worker["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert "resources" in worker


def test_kubernetes_containers_are_locked_down_and_read_secrets_from_files() -> None:
    secret_keys = set(k8s_doc("Secret", "sla-sync-secrets")["stringData"])
    containers = k8s_containers()
    assert {c.argv[:2] for c in containers} == {
        ("run", "--stop-timeout"),
        ("db", "upgrade"),
        ("run", "--once"),
    }
    for c in containers:
        context = c.spec["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, c.where
        assert context["allowPrivilegeEscalation"] is False, c.where
        mounts = {m["name"]: m["mountPath"] for m in c.spec.get("volumeMounts", [])}
        assert mounts.get("data") == "/var/lib/sla-sync", f"{c.where}: writable data dir"
        assert mounts.get("tmp") == "/tmp", f"{c.where}: writable /tmp"
        for name, value in c.env.items():
            if name.endswith("_FILE"):
                directory, key = value.rsplit("/", 1)
                assert mounts.get("secrets") == directory, f"{c.where}: {name} outside the mount"
                assert key in secret_keys, f"{c.where}: {name}: the Secret has no key {key!r}"
            elif isinstance(value, dict):
                assert value["secretKeyRef"]["key"] in secret_keys, f"{c.where}: {name}"


def test_cronjob_is_the_forbid_concurrency_alternative_with_a_kept_data_dir() -> None:
    (cron,) = [d for _, d in k8s_docs() if d["kind"] == "CronJob"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["schedule"] == "*/5 * * * *"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    argv = tuple(container["args"])
    assert argv[:2] == ("run", "--once") and "--no-standby" in argv
    assert_graceful("cronjob", argv, pod["terminationGracePeriodSeconds"])
    # `run --once` sends a weekly report unless its file is in the data directory already: the
    # directory must outlive the Job, or the report would go out every 5 minutes.
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    claim = data.get("persistentVolumeClaim", {}).get("claimName")
    assert claim == k8s_doc("PersistentVolumeClaim", "sla-sync-data")["metadata"]["name"], data


def test_kustomization_lists_every_manifest_but_the_alternatives() -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    resources = set(kustomization["resources"])
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert resources <= manifests
    assert manifests - resources == NOT_IN_KUSTOMIZATION


def test_kubectl_kustomize_builds() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on this machine")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(result.stdout)]
    assert kinds.count("Deployment") == 1 and "CronJob" not in kinds and "Secret" not in kinds


# --------------------------------------------------------------------------- secrets

_SECRET_SHAPES = {
    "HubSpot private-app token": re.compile(r"pat-(na|eu|ap)\d+-[0-9a-f]{8}-"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "Slack token": re.compile(r"xox[abpr]-\d"),
    "Slack webhook": re.compile(r"hooks\.slack\.com/services/T[A-Z0-9]"),
    "AWS access key": re.compile(r"AKIA[0-9A-Z]{16}"),
}


def test_no_real_secret_is_committed() -> None:
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8")
        for what, shape in _SECRET_SHAPES.items():
            assert not shape.search(text), f"{path}: looks like a {what}"
    for file, doc in k8s_docs():
        if doc.get("kind") == "Secret":
            assert file.endswith(".example.yaml"), f"{file}: a Secret outside an example"
            values = {**doc.get("stringData", {}), **doc.get("data", {})}
            assert values and all("REPLACE-ME" in v for v in values.values()), file
