"""A speed device with and without: a bench run with the device on, then off, alternately, and the ratio.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench_d REDIS_URL=redis://127.0.0.1:6379/14
    python bench/ab.py --pairs 5 --off FINOBS_NO_UNSAVED=1 -- \
        --on-copy --stages --repeat 5 --single 1500 --baseline-items 2

Runs `--script` (bench/ingest.py unless told) `--pairs` times as it is and `--pairs` times with the `--off`
environment (a FINOBS_NO_<DEVICE>=1 switch, or a setting such as API_KEY_CACHE_S=0), one after the other,
A B A B..., so both see the machine in the same phases; the arguments after `--` go to the script. Each
run's output goes to `--out` (a log per run and one JSON line of its figures in runs.jsonl). Then, for
every figure the script printed, both sides' values and how much worse the product is without the
device: the median of the pairs' ratios and the ratio of the means (above 1: slower without it).
docs/performance.md#speed-devices gives each device's command and its last figures.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUMBER = r"([0-9.]+)"
CPU_SIDES = r"(web|worker|PostgreSQL|bench client) ([0-9.]+) ms"

# Figure -> what it is, and whether lower is better (then the ratio is off / on, else on / off).
FIGURES = {
    "batch_median_s": ("10,000-item batch, median, s", True),
    "batch_mean_s": ("10,000-item batch, mean of all, s", True),
    "single_mean": ("single-item POST, mean, ms", True),
    "single_p95": ("single-item POST, p95, ms", True),
    "single_web_cpu": ("web CPU per single-item request, ms", True),
    "single_worker_cpu": ("worker CPU per single-item request, ms", True),
    "noop_p95": ("no-op request, p95, ms", True),
    "noop_web_cpu": ("web CPU per no-op request, ms", True),
    "stream_delivered_s": ("relay start to every SSE subscriber holding every event, s", True),
    "upload_probe_worst_ms": ("event loop blocked by a CSV upload (worst probe), ms", True),
    "upload_post_ms": ("CSV upload POST, ms", True),
    "send_p50": ("callback send, p50, ms", True),
    "send_p95": ("callback send, p95, ms", True),
    "sends_per_s": ("callback sends per second", False),
}


def figures(output: str) -> dict[str, float]:
    """The figures a bench script printed (bench/ingest.py, stream.py, upload.py, callbacks.py)."""
    found: dict[str, float] = {}

    def take(pattern: str, *names: str) -> None:
        if match := re.search(pattern, output):
            found.update(
                (name, float(value.replace(",", ""))) for name, value in zip(names, match.groups(), strict=True)
            )

    take(r"batch POST.*median " + NUMBER + " s", "batch_median_s")
    if match := re.search(r"batch times, s: (.*)", output):
        found["batch_mean_s"] = statistics.fmean(float(s) for s in match[1].split())
    take(r"single-item POST over HTTP.*p95 " + NUMBER + r" ms, mean " + NUMBER, "single_p95", "single_mean")
    if match := re.search(r"CPU per single-item request: (.*)", output):
        cpu = dict(re.findall(CPU_SIDES, match[1]))
        found.update((f"single_{side}_cpu", float(cpu[side])) for side in ("web", "worker") if side in cpu)
    take(r"no-op endpoint.*p95 " + NUMBER + " ms", "noop_p95")
    if match := re.search(r"CPU per no-op request: (.*)", output):
        cpu = dict(re.findall(CPU_SIDES, match[1]))
        if "web" in cpu:
            found["noop_web_cpu"] = float(cpu["web"])
    take(r"every subscriber holds every event: " + NUMBER + " s", "stream_delivered_s")
    take(
        r"median of \d+ uploads: POST " + NUMBER + r" ms, probe worst " + NUMBER,
        "upload_post_ms",
        "upload_probe_worst_ms",
    )
    take(r"sends: .*\(([0-9,]+)/s\); p50 " + NUMBER + r" ms, p95 " + NUMBER, "sends_per_s", "send_p50", "send_p95")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--off", required=True, help="the environment that turns the device off: NAME=VALUE[,NAME=VALUE]"
    )
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--script", default="bench/ingest.py")
    parser.add_argument("--tag", default="", help="names the runs' logs (default: the --off environment)")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench-ab")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, help="after --: the script's arguments")
    args = parser.parse_args()
    script_args = [a for a in args.script_args if a != "--"]
    off = dict(pair.split("=", 1) for pair in args.off.split(","))
    tag = args.tag or re.sub(r"[^A-Za-z0-9_]+", "_", args.off)
    args.out.mkdir(parents=True, exist_ok=True)

    runs: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
    for pair in range(args.pairs):
        for side, env in (("on", {}), ("off", off)):
            started = time.time()
            done = subprocess.run(
                [sys.executable, args.script, *script_args],
                cwd=ROOT,
                env={**os.environ, **env},
                capture_output=True,
                text=True,
            )
            log = args.out / f"{tag}-{pair}-{side}-{time.strftime('%H%M%S', time.localtime(started))}.log"
            log.write_text(done.stdout + "\n--- stderr ---\n" + done.stderr[-5000:])
            if done.returncode:
                raise SystemExit(f"{args.script} failed ({side}, pair {pair}): see {log}")
            found = figures(done.stdout)
            runs[side].append(found)
            record = {
                "tag": tag,
                "pair": pair,
                "side": side,
                "env": env,
                "script": args.script,
                "args": script_args,
                "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
                "wall_s": round(time.time() - started),
                "load": os.getloadavg()[0],
                "log": log.name,
                **found,
            }
            with open(args.out / "runs.jsonl", "a") as jsonl:
                jsonl.write(json.dumps(record) + "\n")
            print(f"pair {pair} {side:>3}: " + ", ".join(f"{k} {v:g}" for k, v in found.items()), flush=True)

    print(f"\n{args.pairs} pairs, device on / off ({args.off}); ratio: how much worse without the device")
    for name, (label, lower_is_better) in FIGURES.items():
        pairs = [
            (on[name], off[name]) for on, off in zip(runs["on"], runs["off"], strict=True) if name in on and name in off
        ]
        if not pairs or not all(on and off for on, off in pairs):
            continue
        ons, offs = [on for on, _ in pairs], [off for _, off in pairs]
        worse = [off / on if lower_is_better else on / off for on, off in pairs]
        of_means = statistics.fmean(offs) / statistics.fmean(ons)
        print(f"{label}: on {' / '.join(f'{v:g}' for v in ons)}; off {' / '.join(f'{v:g}' for v in offs)}; "
              f"pair ratios {' '.join(f'{r:.2f}' for r in worse)}; median pair ratio {statistics.median(worse):.2f}, "
              f"ratio of means {of_means if lower_is_better else 1 / of_means:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
