"""`python -m bench` (`make bench`): the streaming path against a bare relay, in one run.

It starts the scripted OpenAI-compatible server (tests/support/llm_server.py), the MCP services,
the main app and `bench/bare_relay.py`, each under `gunicorn.conf.py` with ONE gevent worker,
on SQLite in a temporary directory. Then, for each of the two apps, a load client of its own
(`bench/load.py`, a separate gevent process) holds `--streams` concurrent streams for the
latency rows and `--capacity` streams for the capacity run. The worker's CPU
(/proc/<pid>/stat) and RSS (/proc/<pid>/status) are read when the measured window opens and
closes. It prints one table with a column per app; `--save` also writes it to
`bench/results/<date>.md`.

    python -m bench                                   # about three minutes
    python -m bench --streams 50 --capacity 200,400 --duration 10 --words 100
    python -m bench --only full --profile /tmp/prof   # py-spy of the full stack's worker
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
GAP_TARGET = 0.100  # p99 gap between content events, seconds (the capacity criterion)
WARM_UP_STREAMS = 5


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A child process with its log in the run's directory; stopped at the end of the run."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.log_path = logs / f"{name}.log"
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                argv, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def wait_until(url: str, process: Process, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise SystemExit(f"{process.name} exited; see {process.log_path}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{process.name} did not answer at {url}; see {process.log_path}")


def gunicorn(name: str, target: str, port: int, env: dict[str, str], logs: Path) -> Process:
    env = {**env, "PORT": str(port), "WEB_CONCURRENCY": "1", "LOG_LEVEL": "warning"}
    argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", target]
    process = Process(name, argv, env, logs)
    wait_until(f"http://127.0.0.1:{port}/health", process)
    return process


def worker_of(master: int) -> int:
    """The pid of the gunicorn master's one worker."""
    for _ in range(100):
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                        return int(entry.name)
        time.sleep(0.1)
    raise SystemExit(f"no worker found under gunicorn {master}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


# --- one load run -----------------------------------------------------------------------------


@dataclass
class RunResult:
    """One load run against one app, with the server-side measurements of its window."""

    concurrency: int
    load: dict[str, Any]
    cpu: float = 0.0  # worker CPU seconds in the window
    wall: float = 0.0
    rss_idle: int = 0
    rss_peak: int = 0
    helper_cpu: dict[str, float] = field(default_factory=dict)  # the load generators' share

    @property
    def streams(self) -> list[dict[str, Any]]:
        return self.load["streams"]

    def values(self, key: str) -> list[float]:
        return [s[key] for s in self.streams if s[key] is not None]

    @property
    def gaps(self) -> list[float]:
        return [gap for s in self.streams for gap in s["gaps"]]

    @property
    def ok(self) -> bool:
        return self.load["all_failed"] == 0 and pct(self.gaps, 99) <= GAP_TARGET


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def load_run(
    args: argparse.Namespace,
    label: str,
    worker: int,
    helpers: dict[str, int],
    concurrency: int,
    extra: list[str],
) -> RunResult:
    """Run the load client once and read the worker's CPU and RSS around its measured window."""
    ramp = args.ramp if args.ramp is not None else args.words / args.chunks_per_second
    argv = [sys.executable, "-m", "bench.load", "streams", "--streams", str(concurrency)]
    grace = 30 + 3 * args.words / args.chunks_per_second  # then unfinished streams fail
    argv += ["--ramp", str(ramp), "--duration", str(args.duration), "--grace", str(grace)]
    argv += extra
    result = RunResult(concurrency=concurrency, load={}, rss_idle=rss_bytes(worker))
    client = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    helpers = {**helpers, "load client": client.pid}
    sampling = threading.Event()
    profiler: subprocess.Popen[bytes] | None = None

    def sample_rss() -> None:
        while not sampling.wait(0.2):
            with contextlib.suppress(OSError):
                result.rss_peak = max(result.rss_peak, rss_bytes(worker))

    sampler = threading.Thread(target=sample_rss, daemon=True)
    start: dict[str, float] = {}
    assert client.stdout is not None
    for line in client.stdout:
        if line.startswith("MARK window-open"):
            start = {"wall": time.monotonic(), "cpu": cpu_seconds(worker)}
            start.update({name: cpu_seconds(pid) for name, pid in helpers.items()})
            sampler.start()
            if args.profile and concurrency > WARM_UP_STREAMS:
                profiler = py_spy(args, label, concurrency, worker)
        elif line.startswith("MARK window-closed"):
            sampling.set()
            result.wall = time.monotonic() - start["wall"]
            result.cpu = cpu_seconds(worker) - start["cpu"]
            result.helper_cpu = {
                name: (cpu_seconds(pid) - start[name]) / result.wall
                for name, pid in helpers.items()
            }
        elif line.startswith("RESULT "):
            result.load = json.loads(line[7:])
    if client.wait() != 0 or not result.load:
        raise SystemExit(f"the load client failed ({label}, {concurrency} streams)")
    if profiler is not None:
        profiler.wait()
    return result


def py_spy(args: argparse.Namespace, label: str, concurrency: int, pid: int) -> subprocess.Popen:
    """Sample the worker with py-spy for the measured window (pip install py-spy)."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out = Path(args.profile) / f"{label.replace(' ', '-')}-{concurrency}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [exe, "record", "-p", str(pid), "-d", str(int(args.duration)), "-r", "200"]
    argv += ["-f", "raw", "-o", str(out), "--nonblocking"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --- the stack --------------------------------------------------------------------------------


@dataclass
class Stack:
    workdir: Path
    processes: list[Process] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    workers: dict[str, int] = field(default_factory=dict)
    token: str = ""
    mcp_tokens: list[str] = field(default_factory=list)
    mcp_urls: list[str] = field(default_factory=list)
    mcp_note: str = ""

    def stop(self, redis_url: str | None) -> None:
        for process in reversed(self.processes):
            process.stop()
        if redis_url:
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(match=f"{self.workdir.name}:*"):
                client.delete(key)


def mcp_services_exist() -> bool:
    return all(
        (ROOT / package / "wsgi.py").exists() for package in ("mcp_listings", "mcp_analytics")
    )


@contextlib.contextmanager
def running_stack(args: argparse.Namespace) -> Iterator[Stack]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    stack = Stack(workdir)
    try:
        start_stack(args, stack)
        yield stack
    finally:
        stack.stop(args.redis)
        if args.keep:
            print(f"logs and databases kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def start_stack(args: argparse.Namespace, stack: Stack) -> None:
    workdir = stack.workdir
    llm_port, app_port, bare_port = free_port(), free_port(), free_port()
    listings_port, analytics_port = free_port(), free_port()
    llm_url = f"http://127.0.0.1:{llm_port}/v1"
    llm_argv = [sys.executable, "-m", "tests.support.llm_server", "--port", str(llm_port)]
    llm_argv += ["--chunks-per-second", str(args.chunks_per_second), "--words", str(args.words)]
    llm = Process("llm", llm_argv, {}, workdir)
    stack.processes.append(llm)
    wait_until(f"{llm_url}/models", llm)
    stack.workers["llm"] = llm.pid
    shared = {
        "INSTANCE_PATH": str(workdir / "instance"),
        "APP_URL": f"http://127.0.0.1:{app_port}",
        "MCP_LISTINGS_URL": f"http://127.0.0.1:{listings_port}/mcp",
        "MCP_ANALYTICS_URL": f"http://127.0.0.1:{analytics_port}/mcp",
        "MCP_LISTINGS_DATABASE_URL": f"sqlite:///{workdir / 'listings.db'}",
        "MCP_ANALYTICS_DATABASE_URL": f"sqlite:///{workdir / 'analytics.db'}",
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
    }
    with_mcp = mcp_services_exist()
    if with_mcp:
        for name, target, port in (
            ("mcp-listings", "mcp_listings.wsgi:app", listings_port),
            ("mcp-analytics", "mcp_analytics.wsgi:app", analytics_port),
        ):
            stack.processes.append(gunicorn(name, target, port, shared, workdir))
    else:
        stack.mcp_note = "n/a: mcp_listings/mcp_analytics wsgi modules not found"
    app_env = {
        **shared,
        "DATABASE_URL": f"sqlite:///{workdir / 'app.db'}",
        "PASSWORD_HASH_PROFILE": "fast",
        "RATELIMIT_ENABLED": "0",
        "CHAT_MAX_CONCURRENT_PER_USER": "100000",
        "LLM_MODE": "openai",
        "OPENAI_API_KEY": "bench-key",
        "OPENAI_BASE_URL": llm_url,
        "LLM_MODEL": "scripted-model",
        "LLM_MAX_RETRIES": "0",
        "LLM_TIMEOUT": "60",
        "SSE_TIMEOUT": "300",
        "SSE_REPLAY_TTL": str(args.replay_ttl),
    }
    if args.redis:  # the broker of a scale-out deployment, under keys of this run's own
        app_env |= {"REDIS_URL": args.redis, "REDIS_KEY_PREFIX": f"{workdir.name}:"}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "setup"],
        cwd=ROOT,
        env={**os.environ, **app_env},
        check=True,
        capture_output=True,
    )
    app = gunicorn("app", "wsgi:app", app_port, app_env, workdir)
    stack.processes.append(app)
    bare_env = {"OPENAI_BASE_URL": llm_url, "LLM_MODEL": "scripted-model"}
    bare = gunicorn("bare", "bench.bare_relay:app", bare_port, {**shared, **bare_env}, workdir)
    stack.processes.append(bare)
    stack.urls = {"full": shared["APP_URL"], "bare": f"http://127.0.0.1:{bare_port}"}
    stack.workers.update(full=worker_of(app.pid), bare=worker_of(bare.pid))

    signup = requests.post(
        f"{stack.urls['full']}/auth/signup",
        json={"email": "bench@example.com", "password": "benchmark-password"},
        timeout=10,
    )
    signup.raise_for_status()
    stack.token = signup.json()["access_token"]
    if with_mcp:
        for service in ("listings", "analytics"):
            minted = requests.post(
                f"{stack.urls['full']}/auth/mcp-token",
                json={"service": service},
                headers={"Authorization": f"Bearer {stack.token}"},
                timeout=10,
            )
            minted.raise_for_status()
            stack.mcp_tokens.append(minted.json()["access_token"])
    stack.mcp_urls = [shared["MCP_LISTINGS_URL"], shared["MCP_ANALYTICS_URL"]]


# --- measuring and reporting ------------------------------------------------------------------


@dataclass
class Column:
    label: str
    latency: RunResult | None = None
    capacity: list[RunResult] = field(default_factory=list)
    mcp: dict[str, Any] | None = None


def measure(args: argparse.Namespace, stack: Stack, which: str) -> Column:
    label = {"bare": "bare relay", "full": "full stack"}[which]
    url = stack.urls[which]
    worker = stack.workers[which]
    target = ["--url", url]
    if which == "full":
        target += ["--path", "/agents/chat-stream", "--token", stack.token]
    else:
        target += ["--path", "/relay"]
    helpers = {"llm": stack.workers["llm"]}
    # Warm up (imports, pools, the MCP tool list), so that idle RSS is the warm process's.
    warm = argparse.Namespace(**{**vars(args), "ramp": 0.5, "duration": 0.5})
    load_run(warm, label, worker, helpers, WARM_UP_STREAMS, target)
    column = Column(label)
    probes = ["--cancel-probes", str(args.cancel_probes)] if which == "full" else []
    log(f"{label}: {args.streams} streams")
    column.latency = load_run(args, label, worker, helpers, args.streams, target + probes)
    for level in args.capacity:
        log(f"{label}: capacity run, {level} streams")
        column.capacity.append(load_run(args, label, worker, helpers, level, target))
    return column


def mcp_latency(args: argparse.Namespace, stack: Stack) -> dict[str, Any] | None:
    if stack.mcp_note or not stack.mcp_tokens:
        return None
    argv = [sys.executable, "-m", "bench.load", "mcp", "--calls", str(args.mcp_calls)]
    argv += ["--mcp-urls", ",".join(stack.mcp_urls), "--mcp-tokens", ",".join(stack.mcp_tokens)]
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(next(line[7:] for line in out.splitlines() if line.startswith("RESULT ")))


def ms(value: float) -> str:
    return "n/a" if value != value else f"{value * 1000:.0f} ms"


def pair(values: list[float]) -> str:
    return "n/a" if not values else f"{ms(pct(values, 50))} / {ms(pct(values, 99))}"


def capacity_estimate(run: RunResult) -> float:
    """Streams one core could carry at this cost: concurrency / the worker's CPU share."""
    share = run.cpu / run.wall if run.wall else 0.0
    return run.concurrency / share if share else float("nan")


def rows_for(column: Column, args: argparse.Namespace, stack: Stack) -> dict[str, str]:
    lat = column.latency
    assert lat is not None
    rows: dict[str, str] = {}
    bare = column.label == "bare relay"
    start_key = "first_byte" if bare else "start"  # the bare relay has no `start` event
    for run in column.capacity:
        measured = len(run.streams)
        good = sum(1 for s in run.streams if s["ok"])
        verdict = "meets" if run.ok else "misses"
        failures = "; ".join(run.load["failures"])
        rows[f"{run.concurrency} streams: completed without error"] = (
            f"{good}/{measured} ({run.load['all_failed']} failed of {run.load['all_streams']}"
            + (f": {failures})" if failures else ")")
        )
        rows[f"{run.concurrency} streams: content gap p50/p99"] = (
            f"{pair(run.gaps)} ({verdict} p99 ≤ {GAP_TARGET * 1000:.0f} ms)"
        )
        rows[f"{run.concurrency} streams: time to start p50/p99"] = pair(run.values(start_key))
    n = lat.concurrency
    rows[f"{n} streams: completed without error"] = (
        f"{sum(1 for s in lat.streams if s['ok'])}/{len(lat.streams)}"
    )
    rows[f"{n} streams: time to start p50/p99"] = pair(lat.values(start_key)) + (
        " (first byte)" if bare else ""
    )
    rows[f"{n} streams: time to first content p50/p99"] = pair(lat.values("first_content"))
    rows[f"{n} streams: gap between content events p50/p99"] = pair(lat.gaps)
    for run in (lat, *column.capacity):
        rows[f"{run.concurrency} streams: worker CPU share"] = f"{run.cpu / run.wall:.0%}"
    # Costs per chunk come from the latency run: a saturated worker batches reads and writes,
    # which makes a chunk look cheaper exactly when the streams are already late.
    words = lat.load["window_words"]
    events = lat.load["window_events"]
    rows[f"{n} streams: CPU s per 1,000 upstream chunks"] = (
        f"{lat.cpu / words * 1000:.3f}" if words else "n/a"
    )
    rows[f"{n} streams: content events per upstream chunk"] = (
        f"{events / words:.2f}" if words else "n/a"
    )
    rows["capacity estimate (streams per core at that cost)"] = f"{capacity_estimate(lat):.0f}"
    busiest = column.capacity[-1] if column.capacity else lat
    per_stream = (busiest.rss_peak - lat.rss_idle) / busiest.concurrency
    rows[f"RSS per active stream ({busiest.concurrency} streams)"] = f"{per_stream / 1024:.0f} KB"
    if column.label == "full stack":
        cancels = [c["cancel_latency"] for c in lat.load["cancels"] if c["cancel_latency"]]
        statuses = {c["status"] or c["error"] for c in lat.load["cancels"]}
        rows["cancel latency p50/p99"] = f"{pair(cancels)} (ended: {', '.join(sorted(statuses))})"
        if column.mcp is None:
            rows["MCP tools/call p50/p99"] = stack.mcp_note or "n/a"
        else:
            parts = []
            for data in column.mcp.values():
                errors = f", {len(data['errors'])} errors" if data["errors"] else ""
                parts.append(f"{data['tool']} {pair(data['latencies'])}{errors}")
            rows["MCP tools/call p50/p99"] = "; ".join(parts)
    else:
        rows["cancel latency p50/p99"] = "-"
        rows["MCP tools/call p50/p99"] = "-"
    load = ", ".join(f"{k} {v:.0%}" for k, v in busiest.helper_cpu.items())
    rows["load generators' CPU (busiest run)"] = load
    return rows


def render(columns: list[Column], args: argparse.Namespace, stack: Stack) -> str:
    tables = [rows_for(c, args, stack) for c in columns]
    keys = list(dict.fromkeys(k for table in tables for k in table))
    lines = [
        f"# Streaming benchmark, {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Upstream: {args.chunks_per_second:g} chunks/s, {args.words} one-word chunks per reply;"
        f" window {args.duration:g} s after a ramp of one reply's length; one gevent worker"
        f" per app; {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}),"
        f" Python {platform.python_version()}; the full stack's broker:"
        f" {'Redis' if args.redis else 'in-process'}. Latencies p50 / p99.",
        "",
        "| | " + " | ".join(c.label for c in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for key in keys:
        lines.append(f"| {key} | " + " | ".join(t.get(key, "") for t in tables) + " |")
    by_label = {c.label: c for c in columns}
    if {"bare relay", "full stack"} <= set(by_label):
        bare, full = by_label["bare relay"], by_label["full stack"]
        ratio = capacity_estimate(full.latency) / capacity_estimate(bare.latency)
        lines += ["", f"Capacity ratio full/bare (streams per core): **{ratio:.2f}**"]
        passing = {
            c.label: max((r.concurrency for r in c.capacity if r.ok), default=0)
            for c in (bare, full)
        }
        lines.append(
            "Highest tested concurrency meeting the gap target: "
            + ", ".join(f"{label} {level or 'none'}" for label, level in passing.items())
        )
    lines += [
        "",
        "Notes: streams counted are those started inside the measured window. Capacity is"
        " estimated as concurrency / the worker's CPU share in the latency run; a run 'meets'"
        " when no stream failed and the p99 content gap is within 100 ms. RSS per stream is"
        " (peak RSS in the window − idle RSS after warm-up) / streams. Finished streams stay in"
        f" the broker for replay for SSE_REPLAY_TTL={args.replay_ttl} s in this run.",
    ]
    return "\n".join(lines) + "\n"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=100, help="latency rows' concurrency")
    parser.add_argument(
        "--capacity",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=[300],
        help="concurrency of the capacity runs, comma separated (default 300)",
    )
    parser.add_argument("--chunks-per-second", type=float, default=20.0)
    parser.add_argument("--words", type=int, default=200, help="chunks per reply")
    parser.add_argument("--duration", type=float, default=15.0, help="measured window, s")
    parser.add_argument("--ramp", type=float, default=None, help="default: one reply's length")
    parser.add_argument("--cancel-probes", type=int, default=10)
    parser.add_argument("--mcp-calls", type=int, default=100)
    parser.add_argument("--replay-ttl", type=int, default=5, help="SSE_REPLAY_TTL of the app")
    parser.add_argument("--only", choices=["bare", "full"], default=None)
    parser.add_argument("--redis", default="", help="Redis URL: the full stack's broker")
    parser.add_argument("--profile", default="", help="directory for py-spy raw profiles")
    parser.add_argument("--save", action="store_true", help="write bench/results/<date>[-redis].md")
    parser.add_argument("--keep", action="store_true", help="keep logs and databases")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with running_stack(args) as stack:
        log(f"stack up in {stack.workdir}")
        columns = [
            measure(args, stack, which) for which in ("bare", "full") if args.only in (None, which)
        ]
        for column in columns:
            if column.label == "full stack":
                column.mcp = mcp_latency(args, stack)
    table = render(columns, args, stack)
    print(table)
    if args.save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{dt.date.today().isoformat()}{'-redis' if args.redis else ''}.md"
        path.write_text(table)
        log(f"saved {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
