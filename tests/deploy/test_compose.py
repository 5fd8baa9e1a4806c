"""The production deployment: docker-compose.temporal.yml, the Dockerfile and deploy/.

No Docker engine runs in the test environment, so these tests read the files and check what
they wire together: services and images, environment, ports, start-up order, the search
attributes and retention the setup job applies (its script runs here against a stand-in
`temporal` CLI), the dynamic config, the metadata database's init script (against the local
PostgreSQL when there is one) and the image's build steps.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from ferryman import devserver, search_attributes
from ferryman.settings import IDEMPOTENCY_WINDOW_HOURS
from tests.support.metrics import DASHBOARD, dashboard_metrics, dashboard_queries
from tests.support.paths import ROOT
from tests.support.postgres import postgres_url

COMPOSE_FILE = ROOT / "docker-compose.temporal.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
REGISTER_SCRIPT = ROOT / "deploy" / "register-search-attributes.sh"
SCHEMA_SCRIPT = ROOT / "deploy" / "temporal-schema.sh"
INIT_SCRIPT = ROOT / "deploy" / "postgres-init" / "10-ferryman-db.sh"
DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus.yml"

FERRYMAN_ROLES = ("api", "worker")
REQUIRED_SERVICES = {
    "postgresql",
    "temporal-schema",
    "temporal",
    "temporal-setup",
    "temporal-ui",
    *FERRYMAN_ROLES,
}
Services = dict[str, dict[str, Any]]  # the compose file's `services`, by name
# `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}`; `$${...}` is a literal.
INTERPOLATION = re.compile(
    r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?])?(?P<arg>[^}]*)\}"
)


# --- helpers ---------------------------------------------------------------------------


def interpolate(value: Any) -> Any:
    """Compose's interpolation with every variable unset: each `${VAR:-x}` becomes x."""
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match["op"] not in (":-", "-"):
            raise AssertionError(f"{match[0]} has no default")
        return match["arg"]

    return INTERPOLATION.sub(replace, value).replace("$$", "$")


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(interpolate(value)) for key, value in env.items()}


def published_ports(service: dict[str, Any]) -> list[tuple[str | None, int, int]]:
    """(host ip, host port, container port) for each short-syntax `ports` entry."""
    result = []
    for entry in service.get("ports") or []:
        parts = str(interpolate(entry)).split(":")
        assert len(parts) in (2, 3), f"port {entry!r}: give host and container ports"
        ip = parts[0] if len(parts) == 3 else None
        result.append((ip, int(parts[-2]), int(parts[-1].split("/")[0])))
    return result


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def image_of(service: dict[str, Any]) -> tuple[str, str]:
    name, _, tag = str(interpolate(service["image"])).partition(":")
    return name, tag


def seconds(duration: str) -> float:
    """A compose duration (`45s`, `1m30s`, `2m`) in seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"bad duration {duration!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


def retention_hours(value: str) -> int:
    match = re.fullmatch(r"(\d+)([hd])", value)
    assert match, f"retention {value!r} is not hours (720h) or days (30d)"
    return int(match[1]) * (24 if match[2] == "d" else 1)


def bind_mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of the `./...` bind mounts."""
    mounts = {}
    for volume in service.get("volumes") or []:
        source, target, *_ = str(volume).split(":")
        if source.startswith("./"):
            mounts[target] = ROOT / source
    return mounts


def expected_search_attributes() -> dict[str, str]:
    return dict(flag.split("=", 1) for flag in search_attributes.cli_flags())


def script_search_attributes() -> list[tuple[str, str]]:
    block = re.search(
        r"^# BEGIN search attributes.*?^SEARCH_ATTRIBUTES='\n(?P<body>.*?)^'\n"
        r"# END search attributes",
        REGISTER_SCRIPT.read_text(),
        re.MULTILINE | re.DOTALL,
    )
    assert block, "deploy/register-search-attributes.sh lost its search-attribute block"
    pairs = []
    for line in block["body"].splitlines():
        name, kind = line.split()
        pairs.append((name, kind))
    return pairs


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            result.append((instruction.upper(), arguments.strip()))
    return result


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> Services:
    services: Services = compose["services"]
    return services


# --- services, images, build -----------------------------------------------------------


def test_required_services_exist(services: Services) -> None:
    assert set(services) >= REQUIRED_SERVICES


def test_images_are_pinned_and_temporal_versions_match(services: Services) -> None:
    for name, service in services.items():
        if "image" in service:
            image, tag = image_of(service)
            assert tag and tag != "latest", f"{name}: pin {image} to a version"
    server_image, server_tag = image_of(services["temporal"])
    assert server_image == "temporalio/server"
    # TemporalReportedProblems (stuck detection) exists from server 1.30 on.
    assert tuple(int(part) for part in server_tag.split(".")[:2]) >= (1, 30)
    for job in ("temporal-schema", "temporal-setup"):
        # The schema tool and CLI must match the server they migrate and configure.
        assert image_of(services[job]) == ("temporalio/admin-tools", server_tag)
    assert image_of(services["postgresql"]) == ("postgres", "16")
    assert image_of(services["temporal-ui"])[0] == "temporalio/ui"


def test_ferryman_roles_are_built_from_the_dockerfile(services: Services) -> None:
    for role in FERRYMAN_ROLES:
        build = services[role]["build"]
        if isinstance(build, str):
            build = {"context": build}
        assert (ROOT / build["context"]).resolve() == ROOT
        assert (ROOT / build["context"] / build.get("dockerfile", "Dockerfile")) == DOCKERFILE
        assert services[role]["command"] == [role]
        assert services[role]["restart"] == "unless-stopped"


# --- environment -------------------------------------------------------------------------


def test_database_url_points_at_the_ferryman_database_on_the_postgresql_service(
    services: Services,
) -> None:
    pg_env = environment(services["postgresql"])
    for role in FERRYMAN_ROLES:
        url = urlsplit(environment(services[role])["DATABASE_URL"])
        assert url.scheme in ("postgresql", "postgres", "postgresql+asyncpg")
        assert url.hostname == "postgresql"
        assert image_of(services[url.hostname])[0] == "postgres"
        assert (url.port or 5432) == 5432
        # The database and role the init script creates from the postgresql service's env.
        assert url.path == "/" + pg_env["FERRYMAN_DB_NAME"]
        assert url.username == pg_env["FERRYMAN_DB_USER"]
        assert url.password == pg_env["FERRYMAN_DB_PASSWORD"]
    assert pg_env["FERRYMAN_DB_NAME"] not in ("temporal", "temporal_visibility")


def test_temporal_address_is_what_the_temporal_service_listens_on(services: Services) -> None:
    temporal_env = environment(services["temporal"])
    frontend_port = int(temporal_env.get("FRONTEND_GRPC_PORT", "7233"))
    assert temporal_env["BIND_ON_IP"] == "0.0.0.0"  # reachable from the other containers
    assert frontend_port in {container for _, _, container in published_ports(services["temporal"])}
    for name in (*FERRYMAN_ROLES, "temporal-setup", "temporal-ui"):
        host, _, port = environment(services[name])["TEMPORAL_ADDRESS"].partition(":")
        assert image_of(services[host])[0] == "temporalio/server", name
        assert int(port) == frontend_port, name


def test_roles_share_the_namespace_task_queue_and_database(services: Services) -> None:
    api, worker = (environment(services[role]) for role in FERRYMAN_ROLES)
    for key in ("DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "FERRYMAN_TASK_QUEUE"):
        assert api[key] == worker[key], key
    assert (
        api["TEMPORAL_NAMESPACE"] == environment(services["temporal-setup"])["TEMPORAL_NAMESPACE"]
    )
    assert api["FERRYMAN_LOG_FORMAT"] == "json"
    # The bootstrap key is the API's business only, and never baked in.
    assert re.fullmatch(
        r"\$\{FERRYMAN_BOOTSTRAP_API_KEY:-\}",
        services["api"]["environment"]["FERRYMAN_BOOTSTRAP_API_KEY"],
    )
    assert "FERRYMAN_BOOTSTRAP_API_KEY" not in worker


def strings(node: Any) -> list[str]:
    """Every string in a parsed YAML document, keys included (compose interpolates both)."""
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in strings(key) + strings(value)]
    if isinstance(node, list):
        return [text for item in node for text in strings(item)]
    return [node] if isinstance(node, str) else []


def test_every_variable_has_a_default_and_is_documented(compose: dict[str, Any]) -> None:
    names = set()
    for text in strings(compose):
        for match in INTERPOLATION.finditer(text):
            assert match["op"] in (":-", "-"), f"{match[0]} needs a default"
            names.add(match["name"])
        # A bare `$NAME` is interpolated too: write ${NAME:-default}, or $$NAME for the shell.
        assert not re.search(r"(?<!\$)\$[A-Za-z_]", text.replace("$$", "")), text
    assert names, "expected configurable variables"
    doc = DEPLOYMENT_DOC.read_text()
    undocumented = sorted(name for name in names if f"`{name}`" not in doc)
    assert not undocumented, f"document these in docs/deployment.md: {undocumented}"


# --- ports, scaling, start-up order ------------------------------------------------------


def test_published_ports(services: Services) -> None:
    assert (8080, 8080) in [(host, c) for _, host, c in published_ports(services["api"])]
    assert (8233, 8080) in [(host, c) for _, host, c in published_ports(services["temporal-ui"])]
    assert (7233, 7233) in [(host, c) for _, host, c in published_ports(services["temporal"])]
    # Temporal's frontend and UI have no authentication here: loopback unless overridden.
    for name in ("temporal", "temporal-ui"):
        assert {ip for ip, _, _ in published_ports(services[name])} == {"127.0.0.1"}, name
    assert not services["postgresql"].get("ports"), "keep the databases off the host"


def test_worker_scales_and_drains(services: Services) -> None:
    worker = services["worker"]
    assert "container_name" not in worker
    assert not worker.get("ports")
    graceful = float(environment(worker)["FERRYMAN_GRACEFUL_SHUTDOWN_SECS"])
    assert seconds(worker["stop_grace_period"]) > graceful
    # The image's check asks the API port, which a worker does not serve.
    assert worker["healthcheck"] == {"disable": True}
    assert worker.get("init") is True  # SIGTERM reaches ferryman through an init process


def test_start_up_order(services: Services) -> None:
    assert depends_on(services["temporal-schema"])["postgresql"] == "service_healthy"
    assert depends_on(services["temporal"]) == {
        "postgresql": "service_healthy",
        "temporal-schema": "service_completed_successfully",
    }
    assert depends_on(services["temporal-setup"])["temporal"] == "service_healthy"
    for role in FERRYMAN_ROLES:
        deps = depends_on(services[role])
        assert deps["temporal-setup"] == "service_completed_successfully", role
        assert deps["postgresql"] == "service_healthy", role
    # Workers start after the API has run the metadata migrations (it is healthy only then).
    assert depends_on(services["worker"])["api"] == "service_healthy"


def test_every_awaited_condition_can_be_met(services: Services) -> None:
    image_has_healthcheck = any(name == "HEALTHCHECK" for name, _ in final_stage())
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            assert target in services, f"{name} depends on unknown {target}"
            dep = services[target]
            if condition == "service_healthy":
                has_check = "test" in (dep.get("healthcheck") or {}) or (
                    "build" in dep and image_has_healthcheck and "healthcheck" not in dep
                )
                assert has_check, f"{name} waits for {target} to be healthy; it has no check"
            elif condition == "service_completed_successfully":
                assert dep.get("restart") == "no", f"{target} is a one-shot job"


def test_postgresql_healthcheck_uses_tcp_pg_isready(services: Services) -> None:
    test = services["postgresql"]["healthcheck"]["test"]
    command = " ".join(test[1:]) if isinstance(test, list) else test
    assert "pg_isready" in command
    # Over TCP: the image's init-time server listens on the socket only.
    assert "-h 127.0.0.1" in command


# --- Temporal setup: search attributes, retention, dynamic config -----------------------


def test_registration_script_lists_exactly_the_search_attributes() -> None:
    pairs = script_search_attributes()
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), "an attribute is listed twice"
    expected = expected_search_attributes()
    missing = sorted(set(expected) - set(names))
    extra = sorted(set(names) - set(expected))
    wrong_type = sorted(name for name, kind in pairs if name in expected and expected[name] != kind)
    block = "\n".join(f"{name} {kind}" for name, kind in expected.items())
    assert not (missing or extra or wrong_type), (
        f"deploy/register-search-attributes.sh is out of date (missing {missing}, extra {extra}, "
        f"wrong type {wrong_type}); its block should read:\n{block}"
    )
    assert {key.name for key in search_attributes.ALL} == set(names)


def test_retention_is_at_least_the_idempotency_window(services: Services) -> None:
    setup_env = environment(services["temporal-setup"])
    hours = retention_hours(setup_env["NAMESPACE_RETENTION"])
    assert hours >= IDEMPOTENCY_WINDOW_HOURS
    for role in FERRYMAN_ROLES:
        # What the setup job applies is what ferryman is configured to expect.
        assert int(environment(services[role])["FERRYMAN_RETENTION_DAYS"]) * 24 == hours
    default = re.search(
        r'RETENTION="\$\{NAMESPACE_RETENTION:-(\w+)\}"', REGISTER_SCRIPT.read_text()
    )
    assert default and retention_hours(default[1]) >= IDEMPOTENCY_WINDOW_HOURS


def test_dynamic_config_sets_the_stuck_workflow_threshold(services: Services) -> None:
    temporal = services["temporal"]
    path = environment(temporal)["DYNAMIC_CONFIG_FILE_PATH"]
    mounts = bind_mounts(temporal)
    assert path in mounts, "mount the dynamic config where DYNAMIC_CONFIG_FILE_PATH points"
    config = yaml.safe_load(mounts[path].read_text())

    def value(key: str) -> Any:
        entries = config[key]
        assert len(entries) == 1 and not entries[0].get("constraints"), key
        return entries[0]["value"]

    threshold = "system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute"
    assert value(threshold) == devserver.STUCK_WORKFLOW_TASK_THRESHOLD == 2
    assert value("frontend.searchAttributesSizeOfValueLimit") == 2048


def test_mounted_files_exist_and_scripts_parse(services: Services) -> None:
    for name, service in services.items():
        for source in bind_mounts(service).values():
            assert source.exists(), f"{name}: {source} is missing"
            scripts = sorted(source.glob("*.sh")) if source.is_dir() else [source]
            for script in (s for s in scripts if s.suffix == ".sh"):
                assert script.read_text().startswith("#!/bin/sh\n"), script
                assert os.access(script, os.X_OK), f"{script} must be executable"
                subprocess.run(["sh", "-n", str(script)], check=True)
        entrypoint = service.get("entrypoint")
        if entrypoint:
            mounted = bind_mounts(service)
            assert entrypoint[0] == "/bin/sh" and entrypoint[1] in mounted, name
    assert bind_mounts(services["postgresql"])["/docker-entrypoint-initdb.d"] == INIT_SCRIPT.parent


FAKE_TEMPORAL = r"""#!/bin/sh
# A stand-in for the `temporal` CLI: records each call, answers like the real one.
echo "$*" >> "$FAKE_LOG"
name=""
previous=""
for arg in "$@"; do
    [ "$previous" = "--name" ] && name="$arg"
    previous="$arg"
done
case "$*" in
    "operator cluster health"*) exit 0 ;;
    "operator namespace describe"*) [ -n "${FAKE_NAMESPACE_EXISTS:-}" ] && exit 0; exit 1 ;;
    "operator namespace update"* | "operator namespace create"*) exit 0 ;;
    "operator search-attribute create"*)
        for other in ${FAKE_EXISTING:-}; do
            if [ "$other" = "$name" ]; then
                echo "Error: unable to add search attributes: Search attribute $name already exists"
                exit 1
            fi
        done
        for other in ${FAKE_WRONG_TYPE:-}; do
            if [ "$other" = "$name" ]; then
                echo "Error: search attribute $name already exists and has different type Int"
                exit 1
            fi
        done
        if [ "$name" = "${FAKE_FLAKY:-}" ] && [ ! -e "$FAKE_LOG.flaky" ]; then
            touch "$FAKE_LOG.flaky"
            echo "Error: unable to add search attributes: namespace not found"
            exit 1
        fi
        echo "$name" >> "$FAKE_LOG.created"
        exit 0 ;;
    "operator search-attribute list"*)
        cat "$FAKE_LOG.created" 2>/dev/null
        for other in ${FAKE_EXISTING:-}; do echo "$other"; done
        exit 0 ;;
esac
echo "unexpected call: $*" >&2
exit 2
"""


def run_setup(
    tmp_path: Path, services: Services, **fake: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    cli = bin_dir / "temporal"
    cli.write_text(FAKE_TEMPORAL)
    cli.chmod(0o755)
    log = tmp_path / "calls.log"
    env = {
        **os.environ,
        **environment(services["temporal-setup"]),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "FAKE_LOG": str(log),
        "SETUP_SLEEP_SECS": "0",
        "SETUP_MAX_ATTEMPTS": "3",
        **fake,
    }
    result = subprocess.run(
        ["sh", str(REGISTER_SCRIPT)], env=env, capture_output=True, text=True, timeout=60
    )
    return result, log


def calls(log: Path, prefix: str) -> list[list[str]]:
    return [shlex.split(line) for line in log.read_text().splitlines() if line.startswith(prefix)]


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_setup_script_registers_every_attribute_and_sets_retention(
    tmp_path: Path, services: Services
) -> None:
    expected = expected_search_attributes()
    names = list(expected)
    existing, flaky = names[0], names[-1]
    result, log = run_setup(
        tmp_path, services, FAKE_NAMESPACE_EXISTS="1", FAKE_EXISTING=existing, FAKE_FLAKY=flaky
    )
    assert result.returncode == 0, result.stdout + result.stderr
    setup_env = environment(services["temporal-setup"])

    (update,) = calls(log, "operator namespace update")
    assert option(update, "--namespace") == setup_env["TEMPORAL_NAMESPACE"]
    assert option(update, "--retention") == setup_env["NAMESPACE_RETENTION"]
    assert option(update, "--address") == setup_env["TEMPORAL_ADDRESS"]
    assert not calls(log, "operator namespace create")

    created = calls(log, "operator search-attribute create")
    requested = {option(args, "--name"): option(args, "--type") for args in created}
    assert requested == expected  # every attribute, with its type, including the existing one
    assert {option(args, "--namespace") for args in created} == {setup_env["TEMPORAL_NAMESPACE"]}
    assert sum(option(args, "--name") == flaky for args in created) == 2  # retried once
    assert f"{existing} ({expected[existing]}) already registered" in result.stdout
    assert calls(log, "operator search-attribute list")


def test_setup_script_creates_a_missing_namespace_with_the_retention(
    tmp_path: Path, services: Services
) -> None:
    result, log = run_setup(tmp_path, services)
    assert result.returncode == 0, result.stdout + result.stderr
    (create,) = calls(log, "operator namespace create")
    assert (
        option(create, "--retention")
        == environment(services["temporal-setup"])["NAMESPACE_RETENTION"]
    )


def test_setup_script_stops_on_an_attribute_of_another_type(
    tmp_path: Path, services: Services
) -> None:
    name = next(iter(expected_search_attributes()))
    result, log = run_setup(tmp_path, services, FAKE_NAMESPACE_EXISTS="1", FAKE_WRONG_TYPE=name)
    assert result.returncode != 0
    assert "another type" in result.stderr
    # Not retried: a type clash needs an operator, not patience.
    assert [option(a, "--name") for a in calls(log, "operator search-attribute create")] == [name]


@pytest.mark.parametrize("retention", ["23h", "0d", "30", "1w", "h"])
def test_setup_script_refuses_a_retention_below_a_day_or_malformed(
    tmp_path: Path, services: Services, retention: str
) -> None:
    result, log = run_setup(tmp_path, services, NAMESPACE_RETENTION=retention)
    assert result.returncode != 0
    assert "NAMESPACE_RETENTION" in result.stderr
    assert not log.exists(), "nothing may be changed before the retention is checked"


def test_setup_script_accepts_days(tmp_path: Path, services: Services) -> None:
    result, log = run_setup(tmp_path, services, NAMESPACE_RETENTION="30d")
    assert result.returncode == 0, result.stdout + result.stderr
    (create,) = calls(log, "operator namespace create")
    assert option(create, "--retention") == "30d"


def test_schema_job_migrates_both_temporal_databases(services: Services) -> None:
    text = SCHEMA_SCRIPT.read_text()
    assert "temporal:temporal temporal_visibility:visibility" in text
    for step in ("create", "setup-schema -v 0.0", "update-schema -d"):
        assert f'sql_tool --db "$db" {step}' in text
    env = environment(services["temporal-schema"])
    assert env["SQL_HOST"] == "postgresql"
    assert env["SQL_USER"] == environment(services["temporal"])["POSTGRES_USER"]
    assert env["SQL_PASSWORD"] == environment(services["temporal"])["POSTGRES_PWD"]
    assert "--pw" not in text and "SQL_PASSWORD" in text  # the password stays off argv


# --- the metadata database's init script --------------------------------------------------


def local_postgres() -> dict[str, str] | None:
    url = urlsplit(postgres_url())
    if shutil.which("psql") is None:
        return None
    env = {
        **os.environ,
        "PGHOST": url.hostname or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
        "PGCONNECT_TIMEOUT": "3",
    }
    if url.password:
        env["PGPASSWORD"] = url.password
    probe = subprocess.run(
        ["psql", "-d", "postgres", "-Atc", "select 1"], env=env, capture_output=True, timeout=10
    )
    return env if probe.returncode == 0 else None


def test_init_script_creates_the_ferryman_role_and_database() -> None:
    env = local_postgres()
    if env is None:
        pytest.skip("no local PostgreSQL reachable with psql")
    suffix = uuid.uuid4().hex[:8]
    database, role = f"ferryman_init_{suffix}", f"ferryman_init_{suffix}"

    def psql(sql: str, database: str = "postgres") -> str:
        done = subprocess.run(
            ["psql", "-v", "ON_ERROR_STOP=1", "-d", database, "-Atc", sql],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    init_env = {
        **env,
        "POSTGRES_USER": env["PGUSER"],
        "FERRYMAN_DB_NAME": database,
        "FERRYMAN_DB_USER": role,
        "FERRYMAN_DB_PASSWORD": 'it\'s a "secret"',
    }
    try:
        for _ in range(2):  # a second run changes nothing and does not fail
            subprocess.run(["sh", str(INIT_SCRIPT)], env=init_env, check=True, capture_output=True)
        owner = psql(
            f"select pg_get_userbyid(datdba) from pg_database where datname = '{database}'"
        )
        assert owner == role
        as_role = {**env, "PGUSER": role, "PGPASSWORD": init_env["FERRYMAN_DB_PASSWORD"]}
        created = subprocess.run(
            ["psql", "-d", database, "-Atc", "create table t (x int); select current_user"],
            env=as_role,
            capture_output=True,
            text=True,
            check=True,
        )
        assert created.stdout.split()[-1] == role  # the role can create its tables
    finally:
        subprocess.run(
            ["psql", "-d", "postgres", "-c", f'drop database if exists "{database}"'],
            env=env,
            capture_output=True,
        )
        subprocess.run(
            ["psql", "-d", "postgres", "-c", f'drop role if exists "{role}"'],
            env=env,
            capture_output=True,
        )


# --- the image -------------------------------------------------------------------------------


def test_dockerfile_builds_the_package_and_runs_ferryman() -> None:
    instructions = dockerfile_instructions()
    froms = [args for name, args in instructions if name == "FROM"]
    assert froms and all(args.split()[0] == "python:3.11-slim" for args in froms)
    runs = " ".join(args for name, args in instructions if name == "RUN")
    assert re.search(r"pip install (?!-e)(?!--editable)\S*\.(\s|$)", runs), "pip install ."
    assert "--editable" not in runs and "install -e" not in runs

    final = dict(final_stage())
    assert json.loads(final["ENTRYPOINT"]) == ["ferryman"]
    assert json.loads(final["CMD"]) == ["api"]
    assert final["USER"] not in ("root", "0", "")
    assert "8080" in final["EXPOSE"].split()
    assert "/healthz" in final["HEALTHCHECK"] and "python" in final["HEALTHCHECK"]
    assert "curl" not in final["HEALTHCHECK"]
    env = " ".join(args for name, args in final_stage() if name == "ENV")
    assert "FERRYMAN_LOG_FORMAT=json" in env.split()
    assert "FERRYMAN_API_HOST=0.0.0.0" in env.split()

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["ferryman"]  # the ENTRYPOINT exists once installed


def test_image_context_holds_everything_the_package_is_built_from() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    copied: set[str] = set()
    for name, args in dockerfile_instructions():
        if name == "COPY" and "--from" not in args:
            copied.update(Path(part).as_posix() for part in args.split()[:-1])
    needed = {"pyproject.toml", pyproject["project"]["readme"]}
    needed |= set(pyproject["tool"]["setuptools"]["package-dir"].values())
    # Symlinks inside a copied folder (ferryman/worker.py -> ../worker.py) need their target.
    for folder in list(needed):
        for path in (ROOT / folder).rglob("*") if (ROOT / folder).is_dir() else []:
            if path.is_symlink():
                needed.add(path.resolve().relative_to(ROOT).as_posix())
    assert needed <= copied, f"COPY these into the build stage: {sorted(needed - copied)}"

    ignore = [line for line in DOCKERIGNORE.read_text().splitlines() if line and line[0] != "#"]
    assert ignore[0] == "*", ".dockerignore is an allow-list"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert needed <= allowed, f"allow these in .dockerignore: {sorted(needed - allowed)}"


# --- metrics -------------------------------------------------------------------------------


def test_prometheus_scrapes_the_api_and_every_worker_where_they_serve(
    services: Services,
) -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"ferryman-api", "ferryman-worker"}
    # The API: /metrics on its own published port (no FERRYMAN_METRICS_PORT moves it).
    api = jobs["ferryman-api"]
    assert api["metrics_path"] == "/metrics"
    assert "FERRYMAN_METRICS_PORT" not in environment(services["api"])
    assert api["static_configs"] == [{"targets": ["api:8080"]}]
    assert (8080, 8080) in [(host, c) for _, host, c in published_ports(services["api"])]
    # Every worker replica, by the service's name, on the port its exporter binds on all
    # of the container's interfaces.
    worker_env = environment(services["worker"])
    port = int(worker_env["FERRYMAN_WORKER_METRICS_PORT"])
    assert worker_env["FERRYMAN_METRICS_HOST"] == "0.0.0.0"
    assert [str(p) for p in services["worker"]["expose"]] == [str(port)]
    assert jobs["ferryman-worker"]["dns_sd_configs"] == [
        {"names": ["worker"], "type": "A", "port": port}
    ]
    prometheus = services["prometheus"]
    assert prometheus["profiles"] == ["metrics"]  # optional: not started by a plain `up`
    assert bind_mounts(prometheus)["/etc/prometheus/prometheus.yml"] == PROMETHEUS_CONFIG
    assert {ip for ip, _, _ in published_ports(prometheus)} == {"127.0.0.1"}


def test_traces_are_off_unless_an_endpoint_is_given(services: Services) -> None:
    for role in FERRYMAN_ROLES:
        assert environment(services[role])["OTEL_EXPORTER_OTLP_ENDPOINT"] == ""


def test_the_grafana_dashboard_is_importable_and_queries_ferryman_and_the_sdk() -> None:
    document = json.loads(DASHBOARD.read_text())
    assert document["uid"] == "ferryman" and document["title"]
    panels = [panel for panel in document["panels"] if panel["type"] != "row"]
    assert panels and all(panel.get("targets") for panel in panels)
    ids = [panel["id"] for panel in document["panels"]]
    assert len(ids) == len(set(ids))
    # Which names exist is proven against real scrapes (tests/ferryman/test_metrics.py).
    names = dashboard_metrics()
    assert any(name.startswith("ferryman_") for name in names)
    assert any(name.startswith("temporal_") for name in names)
    assert all(query.count("(") == query.count(")") for query in dashboard_queries())
