"""The MCP services stand alone: importing one loads the server kit (`app.mcp`) and nothing of
the main app's chat, streaming, agent, accounts or models, and its /metrics shows its own
figures only. Each check runs in a fresh interpreter, where nothing else was imported first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAIN_APP_ONLY = ("app.chat", "app.streaming", "app.agent", "app.auth", "app.models")

PROBE = """
import json, sys
import {service}.wsgi as entry
client = entry.app.test_client()
metrics = client.get("/metrics", headers={{"Authorization": "Bearer probe-token"}})
print(json.dumps({{
    "modules": sorted(m for m in sys.modules if m == "app" or m.startswith("app.")),
    "metrics_status": metrics.status_code,
    "metric_names": sorted({{
        line.split()[2] for line in metrics.get_data(as_text=True).splitlines()
        if line.startswith("# TYPE ")
    }}),
}}))
"""


def probe(service: str, instance: Path) -> dict:
    """Import `service`'s WSGI entry in a new interpreter; what it loaded and what it exports."""
    env = {**os.environ, "INSTANCE_PATH": str(instance), "METRICS_TOKEN": "probe-token"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(service=service)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("service", ["mcp_listings", "mcp_analytics"])
def test_a_service_loads_only_the_server_kit_and_shows_only_its_metrics(
    service: str, tmp_path: Path
) -> None:
    loaded = probe(service, tmp_path)
    assert [m for m in loaded["modules"] if m.startswith(MAIN_APP_ONLY)] == []
    assert loaded["metrics_status"] == 200
    names = loaded["metric_names"]
    assert [name for name in names if name.startswith("estate_mcp_requests")]
    assert not [name for name in names if name.startswith(("estate_repl", "estate_rate"))]
