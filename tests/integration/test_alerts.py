"""The alert rules (infra/prometheus/alerts.yml): their promtool unit tests pass, and a real Prometheus server
(Debian's package) scraping a running engine finds every metric they use."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import REPO, Server, free_port, start_server, stop_server

RULES = REPO / "infra" / "prometheus" / "alerts.yml"
RULE_TESTS = REPO / "infra" / "prometheus" / "alerts_test.yml"
DASHBOARD = REPO / "infra" / "grafana" / "taina.json"
METRIC = r"\b(taina_[a-z_]+|process_start_time_seconds)\b"


@pytest.fixture(scope="session")
def prometheus_bin() -> Path:
    """Debian's prometheus and promtool, installed by infra/install-prometheus.sh if missing. Skipped, with the
    reason, only where apt cannot install them."""
    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        if shutil.which("apt-get") is None:
            pytest.skip("Debian's prometheus package is not installed and there is no apt-get to install it")
        result = subprocess.run(
            [str(REPO / "infra" / "install-prometheus.sh")],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if shutil.which("promtool") is None:
            pytest.skip(
                f"apt-get could not install prometheus: {(result.stderr or result.stdout).strip()[-500:]}"
            )
    return Path(str(shutil.which("promtool"))).parent


def metrics_the_rules_use() -> set[str]:
    text = RULES.read_text()
    exprs = re.findall(r"expr: (\|\n(?:\s{10}.*\n)+|.*\n)", text)
    names = set()
    for expr in exprs:
        names |= set(re.findall(METRIC, expr))
    return names


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def test_the_dashboard_shows_the_waterfall_calls_capacity_providers_and_errors() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["Calls and capacity", "Latency waterfall (seconds after the caller stopped speaking)",
                    "Providers", "Errors and dependencies", "Backups"]  # fmt: skip
    queries = " ".join(dashboard_queries())
    from engine.waterfall import STAGES

    assert all(f'stage="{stage}"' in queries for stage in STAGES)
    assert {"taina_sessions_capacity", "taina_calls_refused_total", "taina_provider_failovers_total",
            "taina_dependency_up"} <= set(re.findall(METRIC, queries))  # fmt: skip


def test_the_rules_find_the_metrics() -> None:
    assert {"taina_dependency_up", "taina_turns_total", "taina_last_backup_success_timestamp_seconds"} <= (
        metrics_the_rules_use()
    )


def test_alert_rules_pass_their_unit_tests(prometheus_bin: Path) -> None:
    check = subprocess.run(
        [str(prometheus_bin / "promtool"), "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS: 11 rules found" in check.stdout
    tests = subprocess.run(
        [str(prometheus_bin / "promtool"), "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        cwd=RULE_TESTS.parent,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "SUCCESS" in tests.stdout


@pytest.fixture
def engine(data_dir: Path) -> Iterator[Server]:
    srv = start_server(data_dir)
    yield srv
    stop_server(srv)


def test_prometheus_scrapes_every_metric_the_rules_use(
    prometheus_bin: Path, engine: Server, tmp_path: Path
) -> None:
    port = free_port()
    target = engine.url.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        json.dumps(  # JSON is YAML
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(RULES)],
                "scrape_configs": [{"job_name": "taina", "static_configs": [{"targets": [target]}]}],
            }
        )
    )
    log = tmp_path / "prometheus.log"
    process = subprocess.Popen(
        [str(prometheus_bin / "prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        missing: set[str] = set()
        wanted = metrics_the_rules_use() | {m for q in dashboard_queries() for m in re.findall(METRIC, q)}
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                names = set(httpx.get(f"{api}/label/__name__/values", timeout=2).json()["data"])
                described = set(httpx.get(f"{api}/metadata", timeout=2).json()["data"])
                up = httpx.get(f"{api}/query", params={"query": 'up{job="taina"}'}, timeout=2).json()
            except (httpx.TransportError, KeyError):
                time.sleep(0.5)
                continue
            # A counter with labels (provider failovers) has no series until it first happens: its HELP and TYPE,
            # which Prometheus keeps as metadata, show the engine exports it.
            missing = wanted - names - described
            healthy = [r for r in up["data"]["result"] if r["value"][1] == "1"]
            if healthy and not missing and "taina_dependency_up" in names:
                break
            time.sleep(0.5)
        assert not missing, (
            f"metrics the rules or the dashboard use that the engine does not export: {sorted(missing)}"
        )
        for query in dashboard_queries():  # every dashboard query is valid PromQL to the real server
            answer = httpx.get(f"{api}/query", params={"query": query}, timeout=2).json()
            assert answer["status"] == "success", (query, answer)
        rules = httpx.get(f"{api}/rules", timeout=2).json()["data"]["groups"][0]["rules"]
        assert len(rules) == 11 and all(r["health"] == "ok" for r in rules), rules
        up_now = httpx.get(f"{api}/query", params={"query": "taina_dependency_up"}, timeout=2).json()
        assert {r["metric"]["dependency"]: r["value"][1] for r in up_now["data"]["result"]} == {
            "database": "1",
            "object_store": "1",
        }
    finally:
        process.terminate()
        process.wait(timeout=20)
