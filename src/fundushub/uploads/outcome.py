"""What became of every file a person chose for a job: counts that agree on every page, and words.

A job's files are those the server received (items) and those the browser left out before upload
(the job's `rejected` list). Every chosen file is counted exactly once as stored, already stored
(a duplicate, found by the server or by the browser's pre-check), failed, or still pending.
"""

from dataclasses import dataclass

from fundushub.uploads.ingest import DUPLICATE
from fundushub.uploads.models import ItemState


def _was(count: int) -> str:
    return f"{count} {'was' if count == 1 else 'were'}"


@dataclass(frozen=True)
class Outcome:
    selected: int  # every file chosen: received by the server or left out by the browser
    stored: int
    duplicates: int  # already stored: found by the server or left out by the browser
    failed: int  # refused by the server, or left out by the browser for another reason
    pending: int  # queued or processing
    left_out: int  # of all the above, left out by the browser before upload
    left_out_duplicates: int

    @classmethod
    def of(cls, counts: dict, rejected: list) -> "Outcome":
        """From item counts by state and the browser's list of files it left out."""
        left_dup = sum(1 for r in rejected if r.get("reason") == DUPLICATE)
        return cls(
            selected=sum(counts.values()) + len(rejected),
            stored=counts.get(ItemState.COMPLETED, 0),
            duplicates=counts.get(ItemState.DUPLICATE, 0) + left_dup,
            failed=counts.get(ItemState.ERROR, 0) + len(rejected) - left_dup,
            pending=counts.get(ItemState.QUEUED, 0) + counts.get(ItemState.PROCESSING, 0),
            left_out=len(rejected),
            left_out_duplicates=left_dup,
        )

    @property
    def in_store(self) -> int:
        """Files whose image is in the store now: stored by this job or already there."""
        return self.stored + self.duplicates - self.left_out_duplicates

    def sentence(self) -> str:
        """ "11 of 12 stored; 1 was already stored." and the like."""
        if not self.selected:
            return "No files."
        parts = [f"{self.stored} of {self.selected} stored"]
        if self.pending:
            parts[0] += " so far"
        if self.duplicates:
            parts.append(f"{_was(self.duplicates)} already stored")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.pending:
            parts.append(f"{self.pending} still to process")
        text = "; ".join(parts) + "."
        if self.left_out:
            verb = "was" if self.left_out == 1 else "were"
            text += f" {self.left_out} of them {verb} left out by the browser before upload."
        return text
