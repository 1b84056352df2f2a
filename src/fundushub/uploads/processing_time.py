"""How long a worker takes over one upload item, by the state it left the item in.

Kept by the worker process; /metrics shows it when web and worker processes share
PROMETHEUS_MULTIPROC_DIR (operations/metrics.py).
"""

from prometheus_client import Histogram

ITEM_SECONDS = Histogram(
    "fundushub_item_processing_seconds",
    "A worker's time on one upload item (decode, thumbnail, store), by the state it ended in",
    ["state"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)


def observe(state: str, seconds: float) -> None:
    ITEM_SECONDS.labels(str(state)).observe(seconds)
