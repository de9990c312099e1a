"""`python -m bench` (`make bench`): the product's relay side by side with the yardsticks.

It runs the shared side-by-side benchmark, ../shared/relay-bench/bench.py (or `RELAY_BENCH`),
which starts the product itself with `make run` (one gevent worker, an OpenAI-format Node
upstream as its LLM), `limit-py` (the leanest Flask + gevent relay) and `node` (the same relay
in Node), and drives each with one Node load client. Every figure that matters is a ratio within
one run: the machine is shared. The runs:

  relay         20 chunks/s at --levels streams (default 100,200,300), every contestant, and a
                py-spy profile of the product's worker at the first level (if py-spy is in
                .venv/bin: `pip install py-spy`);
  coalescing    100 chunks/s at 100 streams, product (SSE_COALESCE_MS as configured, 30 by
                default) against node;
  replies       20-chunk replies at 50 streams, product against limit-py: set beside the relay
                run's 200-chunk replies, it splits the CPU into a cost per chunk and a cost per
                reply (README, "Performance");
  redis         with --redis URL: the product on the Redis broker at the first level;
  scaling       with --redis URL: one worker against two on Redis, at rising stream counts
                (bench/scaling.py).

The product runs with SSE_REPLAY_TTL=5 so that its RSS per stream is that of the streams being
written, not of the finished ones kept for replay (README, "Performance"). The tables and the
profile summary go to bench/results/<date>-<time>-relay.md (--save, which `make bench`
passes), every process's log to a directory under /tmp.

    python -m bench --save
    python -m bench --levels 100 --window 10 --skip coalescing
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
RELAY_BENCH = Path(os.environ.get("RELAY_BENCH", ROOT.parent / "shared" / "relay-bench"))
PY_SPY = ROOT / ".venv" / "bin" / "py-spy"


def relay_bench(name: str, out: Path, args: list[str], env: dict[str, str]) -> str:
    """One relay-bench run; returns its table (and profile summary, if any) as Markdown."""
    run_dir = out / name
    argv = [sys.executable, str(RELAY_BENCH / "bench.py"), "--clone", str(ROOT), "--out"]
    argv += [str(run_dir), *args]
    print(f"bench: {name}: {' '.join(argv[1:])}", file=sys.stderr, flush=True)
    subprocess.run(argv, check=True, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    text = (run_dir / "table.md").read_text()
    profile = run_dir / "profile-summary.txt"
    if profile.exists():
        text += f"\nProfile of the product's worker:\n\n```\n{profile.read_text()}\n```\n"
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="100,200,300", help="streams, comma-separated")
    parser.add_argument("--window", default="20", help="measured window per level, s")
    parser.add_argument("--skip", default="", help="runs to leave out, e.g. coalescing,scaling")
    parser.add_argument("--redis", default="", help="Redis URL: also run the Redis broker")
    parser.add_argument("--save", action="store_true", help="write the tables under bench/results/")
    args = parser.parse_args(argv)
    if not (RELAY_BENCH / "bench.py").exists():
        sys.exit(f"no relay-bench at {RELAY_BENCH}: set RELAY_BENCH to its directory")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(f"/tmp/estate-bench-{stamp}")
    env = {"SSE_REPLAY_TTL": "5"}
    first = args.levels.split(",")[0]
    common = ["--window", args.window]
    sections: list[str] = []
    if "relay" not in args.skip:
        profile = ["--py-spy", str(PY_SPY), "--profile-level", first]
        profile += ["--profile-out", str(out / "profile.txt")]
        run = ["--levels", args.levels, *common, *profile]
        sections += ["## Relay, 20 chunks/s", relay_bench("relay", out, run, env)]
    if "coalescing" not in args.skip:
        run = ["--levels", "100", "--rate", "100", "--contestants", "product,node", *common]
        run += ["--profile-level", "0"]
        window = os.environ.get("SSE_COALESCE_MS", "30")
        title = f"## Coalescing, 100 chunks/s (SSE_COALESCE_MS={window})"
        sections += [title, relay_bench("coalescing", out, run, env)]
    if "replies" not in args.skip:
        run = ["--levels", "50", "--chunks", "20", "--ramp", "1", *common, "--profile-level", "0"]
        run += ["--contestants", "product,limit-py"]
        sections += ["## Short replies, 20 chunks", relay_bench("replies", out, run, env)]
    if args.redis:
        run = ["--levels", first, "--contestants", "product", *common, "--profile-level", "0"]
        redis_env = {**env, "REDIS_URL": args.redis, "REDIS_KEY_PREFIX": f"bench-{stamp}:"}
        sections += ["## Redis broker, 20 chunks/s", relay_bench("redis", out, run, redis_env)]
    if args.redis and "scaling" not in args.skip:
        from bench import scaling  # here: it imports this module's paths

        sections += ["## One worker and two, Redis broker", scaling.main(["--redis", args.redis])]
    report = "\n\n".join(sections) + "\n"
    print(report)
    if args.save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{dt.datetime.now():%Y-%m-%d-%H%M}-relay.md"  # runs of a day side by side
        path.write_text(f"# make bench, {dt.datetime.now():%Y-%m-%d %H:%M}\n\n" + report)
        print(f"bench: saved {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
