"""Wall time per stage of a piece of work, for Server-Timing headers and the benches, and a span per stage
for traces (kernel.tracing)."""

import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from kernel.tracing import span as traced


@contextmanager
def timed(timings_ms: dict[str, float], stage: str, *, span: str | None = None) -> Iterator[None]:
    """Add the block's wall time to `timings_ms[stage]`, in milliseconds (a stage may be timed in parts);
    with `span`, the block is also a span of that name in the current trace."""
    started = time.perf_counter()
    try:
        with traced(span) if span else nullcontext():
            yield
    finally:
        timings_ms[stage] = timings_ms.get(stage, 0.0) + (time.perf_counter() - started) * 1000
