"""What the scheduler remembers about one subject folder between looks, and how long a failing
folder waits before the next try."""

import random
from dataclasses import dataclass, field

from .config import Config
from .examination import Result


@dataclass
class FolderState:
    first_seen: float
    dirty: bool = True
    next_check: float = 0.0
    in_flight: bool = False
    failures: int = 0
    # Backoff of a failing folder: neither the sweep nor events cut it short...
    not_before: float = 0.0
    # ...unless it waits for staff, and something in the folder changed.
    blocked: bool = False
    locked_tries: int = 0
    last_report: tuple | None = None
    settled: Result | None = field(default=None)  # --once: the folder's final answer

    def news(self, result: Result, level: int) -> tuple | None:
        """(level, message) if this is news for the folder: said once, not on every re-check."""
        key = (result.outcome, result.message)
        if key == self.last_report:
            return None
        self.last_report = key
        return level, result.message


def failure_backoff(config: Config, failures: int, retry_after: float | None) -> float:
    """First retry at the next sweep (as documented), then doubling up to failure_backoff_max."""
    delay = min(
        config.failure_backoff_max, config.sweep_interval * 2 ** (failures - 1)
    ) * random.uniform(0.9, 1.1)
    return max(delay, retry_after or 0.0)
