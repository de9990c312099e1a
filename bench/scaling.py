"""`python -m bench.scaling`: how many streams one worker and two workers carry, on Redis.

Issue 17 asks that two workers with Redis carry at least 1.8 times the streams of one at the same
latency target. This drives the product (started by `make run` with `WEB_CONCURRENCY` workers and
`REDIS_URL`) with relay-bench's Node upstream (20 chunks/s) and Node load client at rising stream
counts, and reports per level the gap and first-content percentiles, failures and the workers'
CPU. A level is carried when nothing failed, gap p99 <= 100 ms and first content p99 <= 250 ms.

relay-bench starts the product with one worker; its process helpers are reused here, and its
`start` is wrapped to change the worker count and add Redis. The load generator runs on the same
machine: on two cores, its own CPU at high levels is part of what limits two workers.

    python -m bench.scaling --redis redis://127.0.0.1:6379/0
    python -m bench.scaling --redis redis://... --one 100,150,200 --two 200,300,400
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from bench.__main__ import RELAY_BENCH, ROOT

GAP_P99_MS = 100
FIRST_CONTENT_P99_MS = 250


def relay_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("relay_bench", RELAY_BENCH / "bench.py")
    if spec is None or spec.loader is None:
        sys.exit(f"no relay-bench at {RELAY_BENCH}: set RELAY_BENCH to its directory")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def carried(result: dict[str, Any]) -> bool:
    return (
        result["failed"] == 0
        and result["gap_ms"]["p99"] <= GAP_P99_MS
        and result["ttfc_ms"]["p99"] <= FIRST_CONTENT_P99_MS
    )


def run(rb: ModuleType, workers: int, levels: list[int], redis_url: str, out: Path) -> list[dict]:
    """The product with `workers` workers on Redis, at each level; its results."""
    start = rb.start

    def start_with(name: str, argv: list[str], out: Path, cwd: Path = rb.HERE, env=None):
        env = {**(env or {}), "WEB_CONCURRENCY": str(workers), "REDIS_URL": redis_url}
        env["REDIS_KEY_PREFIX"] = f"bench-scaling-{workers}-{int(time.time())}:"
        return start(name, argv, out, cwd=cwd, env=env)

    rb.start = start_with  # relay-bench's Product always asks for one worker
    args = SimpleNamespace(clone=str(ROOT), drain=30.0)
    (up_port,) = rb.free_ports(1)
    up = start("upstream", [rb.NODE, str(rb.HERE / "upstream.js"), "--port", str(up_port)], out)
    up.port = up_port
    results = []
    product = rb.Product(args, out, f"http://127.0.0.1:{up_port}/v1")
    try:
        rb.wait_http(f"http://127.0.0.1:{up_port}/v1/models", up, timeout=20)
        product.start()
        rb.run_client(args, product, up, 10, 1.0, 0.0, 3.0, "warm-up")
        for level in levels:
            time.sleep(3)
            label = f"{workers} worker{'s' if workers > 1 else ''}"
            result = rb.run_client(args, product, up, level, 10.0, 2.0, 15.0, label)
            rb.log(f"{label}, {level} streams: gap p99 {result['gap_ms']['p99']} ms")
            results.append(result)
    finally:
        product.stop()
        rb.stop(up)
        rb.start = start
    return results


def table(results: list[dict]) -> str:
    lines = [
        "| workers | streams | gap p50 / p99 ms | first content p99 ms | failed | workers' CPU "
        "(cores) | carried |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        gap, first = r["gap_ms"], r["ttfc_ms"]
        lines.append(
            f"| {r['label']} | {r['concurrency']} | {gap['p50']} / {gap['p99']} | {first['p99']} "
            f"| {r['failed']} | {r['server_cpu_share']:.2f} | {'yes' if carried(r) else 'no'} |"
        )
    best = {}
    for r in results:
        if carried(r):
            best[r["label"]] = max(best.get(r["label"], 0), r["concurrency"])
    one, two = best.get("1 worker", 0), best.get("2 workers", 0)
    ratio = f"{two / one:.2f}" if one else "n/a"
    lines += ["", f"Carried: one worker {one} streams, two workers {two}: {ratio}×."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", required=True, help="Redis URL")
    parser.add_argument("--one", default="100,150,200,250", help="levels for one worker")
    parser.add_argument("--two", default="200,300,400,500", help="levels for two workers")
    args = parser.parse_args(argv)
    rb = relay_bench()
    out = Path(f"/tmp/estate-scaling-{time.strftime('%Y%m%d-%H%M%S')}")
    out.mkdir(parents=True)
    results = run(rb, 1, [int(n) for n in args.one.split(",")], args.redis, out)
    results += run(rb, 2, [int(n) for n in args.two.split(",")], args.redis, out)
    report = table(results)
    print(report)
    return report


if __name__ == "__main__":
    main()
