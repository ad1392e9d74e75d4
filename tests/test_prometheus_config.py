"""deploy/prometheus passes promtool: config, rules, and the rules' unit tests.

promtool comes from Debian's `prometheus` package (`bash deploy/ensure-tools.sh`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from wirewatch import metrics
from wirewatch.settings import Settings

PROM = Path(__file__).resolve().parents[1] / "deploy" / "prometheus"
RULES = PROM / "rules" / "wirewatch.yml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool missing: run `bash deploy/ensure-tools.sh`"
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=120)


def test_config_passes_promtool_and_loads_the_rules() -> None:
    done = promtool("check", "config", str(PROM / "prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    # The rule glob is relative to the config, so the check reached the rules file.
    assert "SUCCESS: 1 rule files found" in done.stdout


def test_rules_pass_promtool() -> None:
    done = promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr


def test_rules_fire_when_they_should_and_only_then() -> None:
    # deploy/prometheus/rules/tests: synthetic series for each alert and its healthy twin.
    done = promtool("test", "rules", str(PROM / "rules" / "tests" / "wirewatch_test.yml"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_rule_unit_tests_catch_a_wrong_threshold(tmp_path: Path) -> None:
    # The same unit tests against a rules file whose lag alert ignores its 10 minutes.
    bad = RULES.read_text().replace("for: 10m", "for: 0m")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "wirewatch.yml").write_text(bad)
    (tmp_path / "rules" / "tests").mkdir()
    shutil.copy(PROM / "rules" / "tests" / "wirewatch_test.yml", tmp_path / "rules" / "tests")
    done = promtool("test", "rules", str(tmp_path / "rules" / "tests" / "wirewatch_test.yml"))
    assert done.returncode != 0
    assert "WirewatchConsumerLagGrowing" in done.stdout + done.stderr


def _rules() -> list[dict[str, object]]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def test_the_alerts_the_issue_asks_for_exist() -> None:
    by_name = {r["alert"]: r for r in _rules()}
    assert {"WirewatchFeedFailing", "WirewatchDeadLetters", "WirewatchConsumerLagGrowing",
            "WirewatchNoNewStories", "WirewatchFreshnessSlow"} <= set(by_name)
    assert by_name["WirewatchFeedFailing"]["for"] == "1h"
    assert by_name["WirewatchConsumerLagGrowing"]["for"] == "10m"
    assert "[30m]" in str(by_name["WirewatchNoNewStories"]["expr"])
    assert "histogram_quantile(0.99" in str(by_name["WirewatchFreshnessSlow"]["expr"])


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: str(r["alert"]))
def test_rules_name_only_wirewatch_metrics_that_exist(rule: dict[str, object]) -> None:
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",), "info": ("_info",),
                "histogram": ("_bucket", "_sum", "_count", "_created")}
    exported = {m._name + s for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)
                for s in suffixes[str(m._type)]}
    names = set(re.findall(r"\bwirewatch_[a-z0-9_]+\b", str(rule["expr"])))
    assert names <= exported, sorted(names - exported)
    annotations = rule["annotations"]
    assert isinstance(annotations, dict) and annotations["summary"] and annotations["description"]
    assert rule["labels"]["severity"] in {"warning", "critical"}  # type: ignore[index]


def test_scrape_jobs_match_the_compose_services() -> None:
    cfg = yaml.safe_load((PROM / "prometheus.yml").read_text())
    targets = {t for job in cfg["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    port = Settings.model_fields["metrics_port"].default
    assert {f"poller:{port}", f"processor:{port}"} <= targets
    # WirewatchTargetDown matches these job names.
    jobs = [j["job_name"] for j in cfg["scrape_configs"] if j["job_name"] != "prometheus"]
    assert jobs and all(j.startswith("wirewatch") for j in jobs)


def test_operations_doc_explains_every_alert() -> None:
    doc = (PROM.parents[1] / "docs" / "operations.md").read_text(encoding="utf-8")
    assert {str(r["alert"]) for r in _rules() if f"`{r['alert']}`" not in doc} == set()


# ----------------------------------------------------------------- deploy/ensure-tools.sh
def _fake_apt(tmp: Path, *, lists_known: bool) -> tuple[dict[str, str], Path]:
    """A PATH with only the basics and a fake apt that records its calls and installs fakes."""
    bin_ = tmp / "bin"
    bin_.mkdir()
    for tool in ("mktemp", "cat", "grep", "rm", "bash"):
        real = shutil.which(tool)
        assert real
        (bin_ / tool).symlink_to(real)
    calls = tmp / "calls"
    # Root, as in CI: the script would otherwise go through sudo.
    (bin_ / "id").write_text(f"#!{shutil.which('bash')}\necho 0\n")
    (bin_ / "apt-get").write_text(f"""#!{shutil.which('bash')}
echo "apt-get $*" >> {calls}
if [ "$1" = update ]; then : > {tmp}/lists; fi
if [ "$*" != "${{*#*install}}" ]; then
  for t in prometheus promtool kcat; do
    printf '#!/bin/sh\\n' > {bin_}/$t; {shutil.which('chmod')} +x {bin_}/$t
  done
fi
""")
    if lists_known:
        (tmp / "lists").touch()
    (bin_ / "apt-cache").write_text(f"""#!{shutil.which('bash')}
if [ -e {tmp}/lists ]; then echo "  Candidate: 2.42.0+ds"; else echo "  Candidate: (none)"; fi
""")
    for f in ("apt-get", "apt-cache", "id"):
        (bin_ / f).chmod(0o755)
    return {"PATH": str(bin_), "HOME": str(tmp)}, calls


@pytest.mark.parametrize("lists_known", [True, False])
def test_ensure_tools_installs_missing_tools_quietly(tmp_path: Path, lists_known: bool) -> None:
    env, calls = _fake_apt(tmp_path, lists_known=lists_known)
    script = str(PROM.parent / "ensure-tools.sh")
    bash = shutil.which("bash")
    assert bash
    done = subprocess.run([bash, script], env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    log = calls.read_text().splitlines()
    # apt-get update only when apt does not know the package yet.
    assert (log[0] == "apt-get update -qq") is (not lists_known)
    assert log[-1] == "apt-get install -y -qq --no-install-recommends prometheus kcat"
    # Second run: everything is there, apt is not touched.
    again = subprocess.run([bash, script], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and calls.read_text().splitlines() == log
