"""CPU per reply of the main app's worker, measured live: many one-chunk replies through `make run`.

relay-bench's replies have 200 chunks, so a reply's fixed cost (authentication, the rate limiter,
storing the turn, opening the LLM request, storing the reply, the log line and metrics) is mixed
into its CPU per chunk. Here every reply has one chunk, so the worker's CPU divided by the
replies is almost all fixed cost. The product runs as relay-bench starts it (`make run`,
LLM_MODE=openai against ../shared/relay-bench/upstream.js, one worker), and a few client threads
send `POST /agents/chat-stream` with a Bearer token, one reply after another.

    .venv/bin/python -m bench.reply_cost                         # this checkout
    .venv/bin/python -m bench.reply_cost --clone /tmp/before     # another one, for before/after
    .venv/bin/python -m bench.reply_cost --py-spy .venv/bin/py-spy --profile-out /tmp/reply.txt

Standard library only, as relay-bench (the client must not share the worker's cores for long).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELAY_BENCH = Path(os.environ.get("RELAY_BENCH", ROOT.parent / "shared" / "relay-bench"))
BODY = json.dumps({"message": "3-bedroom homes in Portland under $700k"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the app on port {port} did not become healthy")


def main_worker(group: int) -> int:
    """The pid of the main app's one gunicorn worker in `make run`'s process group (its parent,
    the master, runs `wsgi:app` too; the MCP services run `mcp_*.wsgi:app`)."""
    stats = {}
    for proc in Path("/proc").iterdir():
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (proc / "cmdline").read_text()
        except (OSError, ValueError):
            continue
        main_app = "wsgi:app" in cmdline and "mcp_" not in cmdline
        if proc.name.isdigit() and int(fields[2]) == group and main_app:
            stats[int(proc.name)] = int(fields[1])
    workers = [pid for pid, parent in stats.items() if parent in stats]
    if len(workers) != 1:
        raise SystemExit(f"expected one main worker, found {workers}")
    return workers[0]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_replies(port: int, token: str, replies: int, clients: int) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client(count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        for _ in range(count):
            conn.request("POST", "/agents/chat-stream", BODY, headers)
            body = conn.getresponse().read()
            if b'"completed"' not in body:
                raise SystemExit(f"a reply did not complete: {body[-300:]!r}")

    threads = [threading.Thread(target=client, args=(replies // clients,)) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clone", default=str(ROOT), help="the checkout to run (`make run`)")
    parser.add_argument("--replies", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=10, help="concurrent client threads")
    parser.add_argument("--py-spy", help="py-spy to sample the worker with, during the replies")
    parser.add_argument("--profile-out", default="/tmp/reply-cost-profile.txt")
    args = parser.parse_args()
    up, app, listings, analytics = (free_port() for _ in range(4))
    env = {
        **os.environ,
        "PORT": str(app),
        "MCP_LISTINGS_PORT": str(listings),
        "MCP_ANALYTICS_PORT": str(analytics),
        "MCP_LISTINGS_URL": f"http://127.0.0.1:{listings}/mcp",
        "MCP_ANALYTICS_URL": f"http://127.0.0.1:{analytics}/mcp",
        "LLM_MODE": "openai",
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": f"http://127.0.0.1:{up}/v1",
        "LLM_MODEL": "bench",
        "WEB_CONCURRENCY": "1",
        "CHAT_MAX_CONCURRENT_PER_USER": "100000",
        "CHAT_RATE_LIMIT": "1000000 per minute",
        "SSE_REPLAY_TTL": "5",
    }
    upstream = [
        "node",
        str(RELAY_BENCH / "upstream.js"),
        "--port",
        str(up),
        "--chunks",
        "1",
        "--rate",
        "1000",
    ]
    groups = [
        subprocess.Popen(upstream, stdout=subprocess.DEVNULL, start_new_session=True),
        subprocess.Popen(
            ["make", "run"],
            cwd=args.clone,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        ),
    ]
    try:
        wait_healthy(app)
        conn = http.client.HTTPConnection("127.0.0.1", app)
        signup = {"email": f"reply-{time.time()}@example.com", "password": "benchmark-password"}
        conn.request(
            "POST", "/auth/signup", json.dumps(signup), {"Content-Type": "application/json"}
        )
        token = json.loads(conn.getresponse().read())["access_token"]
        worker = main_worker(groups[1].pid)
        run_replies(app, token, 200, args.clients)  # warm-up
        profiler = None
        if args.py_spy:
            profiler = subprocess.Popen(
                [
                    args.py_spy,
                    "record",
                    "-p",
                    str(worker),
                    "-r",
                    "250",
                    "-f",
                    "raw",
                    "-o",
                    args.profile_out,
                    "-d",
                    "3600",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)
        cpu, started = cpu_seconds(worker), time.monotonic()
        run_replies(app, token, args.replies, args.clients)
        cpu, elapsed = cpu_seconds(worker) - cpu, time.monotonic() - started
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait()
        print(
            f"{args.clone}: {args.replies} one-chunk replies, {args.clients} clients: "
            f"{cpu / args.replies * 1e6:.0f} µs of the worker's CPU a reply, "
            f"{args.replies / elapsed:.0f} replies/s"
        )
    finally:
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group.pid, signal.SIGTERM)


if __name__ == "__main__":
    main()
