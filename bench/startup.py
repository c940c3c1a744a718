"""How long `bin/run` takes to serve: the first start from a fresh clone, and the second start.

    python bench/startup.py [--accounts 300] [--keep]

Clones this repository's committed HEAD into a temporary directory (its .venv a link to this one's: the
dependencies' install is not counted), then starts what bin/run starts, `manage.py serve --demo`, with the
clone's own var/ (embedded SQLite, no default model yet) and times it until /health/live answers: the first
start migrates, collects the static files, trains the shipped default model and builds the demo's month;
the second start finds all of that done. The baseline, measured in the same run on the same clone, is one
bare Django start-up, `manage.py check`: the second start's ratio to it says how much more than one start-up
it costs. (bin/run itself is not run: it would reinstall the shared virtual environment when this checkout's
requirements differ from its stamp.)
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serving_after(clone: Path, env: dict, *, timeout_s: float = 900) -> tuple[float, subprocess.Popen]:
    """Start `serve --demo` and return the seconds until /health/live answers 200, with the process."""
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        [PYTHON, "manage.py", "serve", "--demo", "--port", str(port)],
        cwd=clone,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while time.perf_counter() - started < timeout_s:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - started, server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"serve --demo exited with {server.returncode}") from None
        time.sleep(0.05)
    server.kill()
    raise SystemExit("serve --demo did not answer in time")


def stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def one_start_up(clone: Path, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([PYTHON, "manage.py", "check", "-v", "0"], cwd=clone, env=env, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    args = parser.parse_args()
    clone = Path(tempfile.mkdtemp(prefix="finobs-startup-")) / "finobs"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (clone / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH")}
    env |= {"FINOBS_VAR_DIR": str(clone / "var"), "PYTHONUNBUFFERED": "1"}
    try:
        first, server = serving_after(clone, env)
        stop(server)
        second, server = serving_after(clone, env)
        stop(server)
        baseline = one_start_up(clone, env)
    finally:
        if not args.keep:
            shutil.rmtree(clone.parent, ignore_errors=True)
    print(f"one Django start-up (manage.py check, baseline): {baseline:6.1f} s")
    print(f"first start from a fresh clone:                   {first:6.1f} s  ({first / baseline:.1f}x the baseline)")
    print(f"second start:                                     {second:6.1f} s  ({second / baseline:.1f}x the baseline)")
    if args.keep:
        print(f"clone kept at {clone}")


if __name__ == "__main__":
    sys.exit(main())
