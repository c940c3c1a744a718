"""Wall time per stage of a piece of work, for Server-Timing headers and the benches."""

import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def timed(timings_ms: dict[str, float], stage: str) -> Iterator[None]:
    """Add the block's wall time to `timings_ms[stage]`, in milliseconds (a stage may be timed in parts)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timings_ms[stage] = timings_ms.get(stage, 0.0) + (time.perf_counter() - started) * 1000
