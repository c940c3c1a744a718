"""finobs' processes as deployed, for tests that cut their services or signal them: `manage.py serve` (daphne)
and a Celery worker, each a child process on the test database with the environment a test gives it."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_serve(env: dict, *, timeout_s: float = 60) -> tuple[subprocess.Popen, str]:
    """`python manage.py serve` (the Procfile's web process) with `env` added; returns it and its base URL
    once /health/live answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            httpx.get(f"{base}/health/live", timeout=2)
            return process, base
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("manage.py serve did not start") from None
            time.sleep(0.2)


def stop(process: subprocess.Popen, timeout_s: float = 30) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def start_worker(env: dict) -> subprocess.Popen:
    """A Celery worker as the Procfile starts one (prefork pool), with `env` added, in a process group of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "finobs", "worker", "--concurrency=1", "--without-mingle",
         "--without-gossip", "--loglevel=WARNING"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
