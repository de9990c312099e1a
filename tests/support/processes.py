"""Real processes in tests: killing a gunicorn without letting it clean up, and nginx with the
site config of deploy/nginx.conf on loopback ports."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from tests.support.live import ROOT, LiveServer

# Settings a developer's shell or CI may carry that would point the processes elsewhere (or
# change what they print): tests that start `make run` or scripts/serve drop them.
FOREIGN_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "APP_URL",
    "MCP_LISTINGS_URL",
    "MCP_ANALYTICS_URL",
    "MCP_LISTINGS_DATABASE_URL",
    "MCP_ANALYTICS_DATABASE_URL",
    "OPENAI_API_KEY",
    "OPENROUTER_API_KEY",
    "LLM_MODE",
    "WEB_CONCURRENCY",
    "HOST",
    "LOG_LEVEL",
)


def kill_hard(server: LiveServer) -> None:
    """kill -9 of the gunicorn master and its workers: nothing gets to clean up."""
    assert server.process is not None
    master = server.process.pid
    workers = [
        int(pid) for pid in os.listdir("/proc") if pid.isdigit() and parent_of(int(pid)) == master
    ]
    os.kill(master, signal.SIGKILL)
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    server.process.wait()


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])


def nginx_config(tmp: Path, port: int, upstreams: list[LiveServer], read_timeout: str) -> Path:
    """deploy/nginx.conf on loopback test ports, inside a minimal nginx.conf of our own."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    lines = []
    for line in site.splitlines():
        stripped = line.strip()
        if stripped.startswith("server 10.0.0."):
            if stripped.startswith("server 10.0.0.11"):
                lines += [f"    server 127.0.0.1:{s.port};" for s in upstreams]
            continue
        if stripped.startswith("listen [::]"):
            continue
        if stripped.startswith("listen "):
            line = f"    listen 127.0.0.1:{port};"
        if stripped.startswith("proxy_read_timeout 120s"):
            line = f"        proxy_read_timeout {read_timeout};"
        lines.append(line)
    adapted = "\n".join(lines)
    assert adapted.count(f"proxy_read_timeout {read_timeout}") == 1, "nginx.conf changed shape"
    temp = {name: tmp / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
{adapted}
}}
"""
    )
    return conf


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.skip("nginx is not installed (Debian package nginx)")
    return found
