"""lib/progress.py: a bar redrawn in place on a terminal, plain lines now and then in a log."""

from fundushub.lib import progress
from fundushub.lib.progress import Progress


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def test_in_a_log_it_writes_a_plain_line_at_most_once_per_period(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress, "monotonic", clock)
    out = []
    bar = Progress(out.append, tty=False, every=60)
    for second in range(0, 200, 10):
        clock.now = second
        bar.update(second / 200, f"at {second}")
    assert out == ["30% at 60\n", "60% at 120\n", "90% at 180\n"]
    assert not any("\r" in line for line in out)


def test_on_a_terminal_it_redraws_one_line_and_prints_findings_above_it(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress, "monotonic", clock)
    out = []
    bar = Progress(out.append, tty=True)
    clock.now = 1
    bar.update(0.5, "half")
    bar.say("MISSING x")
    bar.close()
    assert out[0].startswith("\r\x1b[K[###############...............]  50% half")
    assert out[1] == f"\r\x1b[KMISSING x\n{out[0].removeprefix(chr(13) + chr(27) + '[K')}"
    assert out[2] == "\r\x1b[K"
