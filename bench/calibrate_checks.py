"""Calibrate the gradability and laterality checks on synthetic fundus pictures, in one run.

1. Sweeps: sharp pictures (many seeds, both eyes, 640-3000 px wide, fields of 0.88-1.08 of the
   height) degraded one defect at a time at graded strengths (blur radii 1-12 px at 1024 wide,
   exposure 0.2-2.5, glare 1-30 % of the field, contrast 0.2-0.85, crops 5-40 % of the field's
   diameter). Each picture goes through a JPEG and the runner's reduction to <=1024 px, as stored
   pictures do. Printed: per strength, what a grader would call it (the truth rules below) and the
   distribution of the measure it moves.
2. Thresholds: for each rule of gradability.RULES, the threshold that best separates the sweeps'
   truth (errors counted over every picture, so a threshold that another defect trips costs too),
   beside the one the module uses.
3. Confusion: sets of pictures (40 each by default) that are sharp, or carry one defect at a
   clearly ungradable or a mild strength; expected (truth) against the check's verdict, and
   whether an ungradable verdict names the right reason. Laterality: correct, flipped
   (mislabelled), disc-centred and unlabelled pictures, expected pass/flag against the verdict.
4. Timing: milliseconds per 1024 px working copy for finding the field, each check's own work,
   and each whole check (CPU time of this process; median and 95th percentile).

    uv run python bench/calibrate_checks.py               # ~10 min on 2 cores
    uv run python bench/calibrate_checks.py --seeds 4 --set 10    # a quick look

Prints Markdown tables (docs/checks.md holds a run's output).
"""

import argparse
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from types import SimpleNamespace

import numpy as np

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fundushub.settings")
import django  # noqa: E402

django.setup()

from fundushub.checks import gradability, laterality, synthetic  # noqa: E402
from fundushub.checks.field import find_field  # noqa: E402
from fundushub.checks.registry import Subject  # noqa: E402

WIDTHS = (640, 800, 1024, 1280, 1600, 2048, 2400, 3000)
GOOD, USABLE, UNGRADABLE = "good", "usable", "ungradable"
LEVELS = (GOOD, USABLE, UNGRADABLE)

# What a grader would call a picture with one defect (the truth the thresholds are fitted to).
# Each entry: defect -> function of (strength, picture) -> {rule key: level 0/1/2}.
TRUTH = {
    "none": lambda s, p: {},
    "blur": lambda s, p: {"blurred": 2 if s >= 5 else 1 if s > 2 else 0},
    "exposure": lambda s, p: {
        "dark": 2 if s <= 0.35 else 1 if s <= 0.55 else 0,
        "bright": 2 if s >= 2.4 else 1 if s >= 1.9 else 0,
    },
    "glare": lambda s, p: {"glare": 2 if s >= 0.1 else 1 if s >= 0.03 else 0},
    "contrast": lambda s, p: {"contrast": 2 if s < 0.45 else 1 if s < 0.65 else 0},
    "crop": lambda s, p: {"cut": 2 if p.cut >= 0.15 else 1 if p.cut >= 0.06 else 0},
}
# Rule keys, in the order of gradability.RULES, and the measure each reads.
RULE_KEYS = ["blurred", "dark", "bright", "glare", "contrast", "cut"]
SWEEPS = {
    "none": [0],
    "blur": [1, 2, 3, 4, 5, 6, 8, 10, 12],
    "exposure": [0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.3, 1.6, 1.9, 2.2, 2.5],
    "glare": [0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3],
    "contrast": [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.85],
    "crop": [0.05, 0.1, 0.2, 0.3, 0.4],
}
# The confusion sets: (name, defect, strength range).
SETS = [
    ("sharp", "none", (0, 0)),
    ("blurred (radius 6-12)", "blur", (6, 12)),
    ("dark (exposure 0.15-0.3)", "exposure", (0.15, 0.3)),
    ("over-exposed (2.6-3.2)", "exposure", (2.6, 3.2)),
    ("glare (12-30 % of the field)", "glare", (0.12, 0.3)),
    ("low contrast (0.15-0.4)", "contrast", (0.15, 0.4)),
    ("cropped (shift 35-50 %)", "crop", (0.35, 0.5)),
    ("slightly blurred (3-4)", "blur", (3, 4)),
    ("a little dark (0.4-0.52)", "exposure", (0.4, 0.52)),
    ("some glare (4-8 %)", "glare", (0.04, 0.08)),
    ("contrast a little low (0.5-0.6)", "contrast", (0.5, 0.6)),
]


def make(seed, defect="none", strength=0.0, **options):
    """A picture with one defect, at a size, field and eye chosen by seed, and its working copy."""
    rng = np.random.default_rng(10_000 + seed)
    width = WIDTHS[seed % len(WIDTHS)]
    height = width * 3 // 4 if seed % 3 else width * 2 // 3
    eye = options.pop("eye", "right" if seed % 2 else "left")
    field = float(rng.uniform(0.88, 1.08)) if height * 4 == width * 3 else 0.95
    kwargs = {"field": field, **options}
    if defect != "none":
        kwargs[defect] = strength
    picture = synthetic.picture(seed, eye, (width, height), **kwargs)
    rgb = synthetic.working_copy(picture.image, quality=int(rng.integers(80, 96)))
    return picture, rgb


def levels_of(defect, strength, picture):
    found = TRUTH[defect](strength, picture)
    return [found.get(key, 0) for key in RULE_KEYS]


def expected(levels):
    return LEVELS[max(levels, default=0)]


def measure(rgb):
    field = find_field(rgb)
    if field is None:
        return None, (UNGRADABLE, "no fundus found")
    values = gradability.measure(field)
    return values, gradability.judge(values)


# 1. Sweeps


def sweeps(seeds):
    samples = []  # (defect, strength, levels, values, verdict)
    print("## Sweeps\n")
    print(f"{seeds} pictures per strength; widths {', '.join(map(str, WIDTHS))} px in turn.\n")
    for defect, strengths in SWEEPS.items():
        measure_name = _measure_of(defect)
        print(f"### {defect} → {measure_name}\n")
        print(
            "| strength | truth | median | 5th-95th percentile | verdicts (good/usable/ungradable) |"
        )
        print("|---|---|---|---|---|")
        for strength in strengths:
            rows, truths, verdicts = [], Counter(), Counter()
            for seed in range(seeds):
                picture, rgb = make(seed, defect, strength)
                values, (verdict, _) = measure(rgb)
                levels = levels_of(defect, strength, picture)
                samples.append((defect, strength, levels, values, verdict))
                if values is not None and values.get(measure_name) is not None:
                    rows.append(values[measure_name])
                truths[expected(levels)] += 1
                verdicts[verdict] += 1
            truth = "/".join(f"{k} {v}" if len(truths) > 1 else k for k, v in truths.items())
            p5, p50, p95 = np.percentile(rows, [5, 50, 95]) if rows else (np.nan,) * 3
            counts = "/".join(str(verdicts[level]) for level in LEVELS)
            print(f"| {strength} | {truth} | {p50:.3g} | {p5:.3g}–{p95:.3g} | {counts} |")
        print()
    return samples


def _measure_of(defect):
    return {
        "none": "sharpness",
        "blur": "sharpness",
        "exposure": "brightness",
        "glare": "glare",
        "contrast": "contrast",
        "crop": "missing",
    }[defect]


# 2. Thresholds


def thresholds(samples):
    print("## Thresholds\n")
    print("Best: the threshold with the fewest errors over every sweep picture (the middle of the")
    print("best interval); errors: pictures on the wrong side, at the module's threshold.\n")
    print("| rule | measure | level | best | errors at best | module | errors at module |")
    print("|---|---|---|---|---|---|---|")
    for key, rule in zip(RULE_KEYS, gradability.RULES, strict=True):
        index = RULE_KEYS.index(key)
        pairs = [
            (values[rule.measure], levels[index])
            for _, _, levels, values, _ in samples
            if values is not None and values.get(rule.measure) is not None
        ]
        for level, current in ((1, rule.usable), (2, rule.ungradable)):
            best, best_errors = _best_split(pairs, level, rule.low)
            errors = _errors(pairs, level, rule.low, current)
            name = USABLE if level == 1 else UNGRADABLE
            label = rule.severe.format(pct="N", where="")
            print(
                f"| {label} | {rule.measure} | {name} | {best:.3g} | {best_errors} | "
                f"{current:g} | {errors} |"
            )
    print()


def _errors(pairs, level, low, threshold):
    bad = (lambda v: v < threshold) if low else (lambda v: v > threshold)
    return sum(bad(v) != (truth >= level) for v, truth in pairs)


def _best_split(pairs, level, low):
    values = sorted({v for v, _ in pairs})
    candidates = [(a + b) / 2 for a, b in zip(values, values[1:], strict=False)]
    scored = [(_errors(pairs, level, low, t), t) for t in candidates]
    fewest = min(e for e, _ in scored)
    best = [t for e, t in scored if e == fewest]
    return (best[0] + best[-1]) / 2, fewest


# 3. Confusion


def confusion(count):
    print("## Confusion: gradability\n")
    print(f"{count} pictures per set (seeds 1000+). Expected: the truth rules; got: the check.\n")
    print(
        "| set | expected good/usable/ungradable | got good | got usable | got ungradable | right reason |"
    )
    print("|---|---|---|---|---|---|")
    total = defaultdict(Counter)
    for name, defect, (low, high) in SETS:
        got, wanted, reasons, severe = Counter(), Counter(), 0, 0
        for n in range(count):
            seed = 1000 + n
            strength = low + (high - low) * ((n * 0.618034) % 1.0)
            picture, rgb = make(seed, defect, strength)
            values, (verdict, reason) = measure(rgb)
            truth = expected(levels_of(defect, strength, picture))
            wanted[truth] += 1
            got[(truth, verdict)] += 1
            total[truth][verdict] += 1
            if truth == UNGRADABLE:
                severe += 1
                reasons += verdict == UNGRADABLE and _names_the_defect(defect, strength, reason)
        expected_text = "/".join(str(wanted[level]) for level in LEVELS)
        cells = [
            ", ".join(
                f"{got[(t, v)]}" + ("" if t == v else f" (expected {t})")
                for t in LEVELS
                if got[(t, v)]
            )
            or "0"
            for v in LEVELS
        ]
        right = f"{reasons}/{severe}" if severe else "–"
        print(f"| {name} | {expected_text} | {' | '.join(cells)} | {right} |")
    print()
    print("| expected \\ got | good | usable | ungradable |")
    print("|---|---|---|---|")
    for truth in LEVELS:
        print(f"| {truth} | " + " | ".join(str(total[truth][v]) for v in LEVELS) + " |")
    print()


def _names_the_defect(defect, strength, reason):
    words = {
        "blur": "blurred",
        "exposure": "too dark" if strength < 1 else "too bright",
        "glare": "glare",
        "contrast": "low contrast",
        "crop": "cut off",
    }
    return words[defect] in reason


LATERALITY_SETS = [
    # (name, options, declared: "looks" (the eye the picture looks like), "other" or None, flag?)
    # A mirrored picture declared as the eye it was taken of is a mislabelled one.
    ("correct eye", {}, "looks", False),
    ("mirrored (eye mislabelled)", {"flip": True}, "other", True),
    ("disc-centred", {"centre": "disc"}, "looks", False),
    ("mirrored, no eye declared", {"flip": True}, None, False),
    ("mirrored and blurred (radius 8)", {"flip": True, "blur": 8}, "other", True),
    ("correct eye, glare 20 %", {"glare": 0.2}, "looks", False),
    ("mirrored and dark (exposure 0.3)", {"flip": True, "exposure": 0.3}, "other", True),
    ("mirrored and over-exposed (2.5)", {"flip": True, "exposure": 2.5}, "other", True),
    ("mirrored and hazy (contrast 0.4)", {"flip": True, "contrast": 0.4}, "other", True),
    ("mirrored and cut off (shift 40 %)", {"flip": True, "crop": 0.4}, "other", True),
]


def laterality_confusion(count):
    print("## Confusion: laterality\n")
    print(
        "| set | pictures | expected | got pass | got flag | predicted the eye it looks like | unsure |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, options, declared, flag in LATERALITY_SETS:
        got, right, unsure = Counter(), 0, 0
        for n in range(count):
            seed = 2000 + n
            eye = "right" if n % 2 else "left"
            picture, rgb = make(seed, eye=eye, **options)
            other = "left" if picture.eye == "right" else "right"
            code = {"looks": picture.eye, "other": other, None: ""}[declared]
            image = SimpleNamespace(area=SimpleNamespace(code=code), area_id=1 if code else None)
            result = laterality.check(Subject(image, rgb, 1.0))
            got[result.verdict] += 1
            right += result.values["predicted"] == picture.eye
            unsure += result.values["predicted"] == laterality.UNSURE
        wanted = "flag" if flag else "pass"
        print(
            f"| {name} | {count} | {wanted} | {got['pass']} | {got['flag']} | {right} | {unsure} |"
        )
    print()


# 4. Timing


def timing(count):
    print("## Timing\n")
    print(
        f"CPU milliseconds per picture, {count} working copies of 1024×768 (median / 95th percentile).\n"
    )
    laps = defaultdict(list)
    for n in range(count):
        picture = synthetic.picture(3000 + n, "right" if n % 2 else "left", (1024, 768))
        rgb = synthetic.working_copy(picture.image)
        image = SimpleNamespace(area=SimpleNamespace(code="right"), area_id=1)
        started = time.process_time()
        field = find_field(rgb)
        laps["finding the field of view"].append(time.process_time() - started)
        started = time.process_time()
        gradability.judge(gradability.measure(field))
        laps["gradability's own measures"].append(time.process_time() - started)
        started = time.process_time()
        laterality.predict(field)
        laps["laterality's own search"].append(time.process_time() - started)
        subject = Subject(image, rgb, 1.0)
        started = time.process_time()
        gradability.check(subject)
        laps["gradability check (with the field)"].append(time.process_time() - started)
        started = time.process_time()
        laterality.check(subject)
        laps["laterality check after it (field shared)"].append(time.process_time() - started)
        started = time.process_time()
        laterality.check(Subject(image, rgb, 1.0))
        laps["laterality check alone (with the field)"].append(time.process_time() - started)
    print("| step | median ms | p95 ms |")
    print("|---|---|---|")
    for name, values in laps.items():
        ms = [v * 1000 for v in values]
        print(f"| {name} | {statistics.median(ms):.1f} | {np.percentile(ms, 95):.1f} |")
    print()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="pictures per sweep strength")
    parser.add_argument("--set", type=int, default=40, help="pictures per confusion set")
    parser.add_argument("--timing", type=int, default=30, help="pictures timed")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(
        f"# Checks calibration (gradability v{gradability.VERSION}, laterality v{laterality.VERSION})\n"
    )
    samples = sweeps(args.seeds)
    thresholds(samples)
    confusion(args.set)
    laterality_confusion(args.set)
    timing(args.timing)
    print(f"(run took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
