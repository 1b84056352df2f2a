"""Worklist benchmark: server time and SQL queries of the grading pages at 100k examinations.

Seeds N examinations once into a data folder (kept for the next run): 2N images by seed_images
(visits of a right and a left eye; the rows share --pictures generated pictures), then the
examinations, their image links, gradings, per-image grade revisions and audit events in bulk
(COPY on PostgreSQL), as the workflow would have left them: older visits decided (single
gradings, agreeing second gradings, arbitrated), newer ones waiting for a first or second
grading or for arbitration, some claimed (some of those claims expired). Then it times the whole
Django request (middleware, queries, template) of the worklist (first page, a keyset page 90% of
the way down, filtered by stage + lab unit + visit dates, a subject search), the grading page
and the examination page (decided after arbitration; waiting), as a grader, a senior grader and
a data manager. In the same run it times the floor — the very SQL statements the page ran,
executed raw on the same connection — and counts the queries per page.

    uv run python bench/worklist.py                         # 100k examinations, SQLite
    uv run python bench/worklist.py -n 20000 --data-dir /tmp/wl
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/worklistbench uv run python bench/worklist.py
    DATABASE_URL=... uv run python bench/worklist.py --reuse --explain   # as already seeded
"""

import argparse
import contextlib
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 10_000  # examinations per transaction


def _setup(data_dir: Path) -> None:
    os.environ["FUNDUSHUB_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fundushub.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()


def _prepare(n: int, pictures: int) -> None:
    from django.core.management import call_command
    from django.db import connection

    from fundushub.accounts.demo import create_demo_users
    from fundushub.catalog.reference import load_reference_data
    from fundushub.grading.models import Examination
    from fundushub.library.seeding import seed_images
    from fundushub.store.models import Image

    call_command("migrate", interactive=False, verbosity=0)
    load_reference_data(demo=True)
    create_demo_users("bench")
    have = Examination.objects.count()
    if have >= n:
        return
    started = time.monotonic()
    images = 2 * (n - have) - Image.objects.filter(examination_link__isnull=True).count()
    if images > 0:
        print(f"  seeding {images} images (once; kept in the data folder)...", flush=True)
        seed_images(images, seed=have + 1, size=(384, 288), batch=20_000, pictures=pictures)
    print(f"  images in {time.monotonic() - started:.0f} s; filing examinations...", flush=True)
    filed = time.monotonic()
    made = _file_in_bulk(random.Random(have + 1))
    print(f"  {made} examinations in {time.monotonic() - filed:.0f} s", flush=True)
    if connection.vendor == "postgresql":  # planner statistics now, not when autovacuum runs
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    # SQLite is left without statistics (no ANALYZE), as the server runs it.


# Bulk filing ------------------------------------------------------------------------------


class Seeder:
    """What the workflow would have written for each visit, as rows by attname."""

    def __init__(self, rng: random.Random):
        from django.db.models import Max
        from django.utils import timezone

        from fundushub.accounts import roles
        from fundushub.accounts.models import User
        from fundushub.catalog.models import Area, Disease
        from fundushub.grading.models import ExamGrading, Programme

        self.rng = rng
        self.disease_codes = dict(Disease.objects.values_list("pk", "code"))
        self.eyes = dict(Area.objects.values_list("pk", "code"))
        self.now = timezone.now()
        self.programmes = {}
        for programme in Programme.objects.select_related("scheme").prefetch_related("rules"):
            self.programmes.setdefault(programme.scheme.code, programme)
        self.templates = {code: self._templates(p) for code, p in self.programmes.items()}
        role_of = {roles.GRADER: [], roles.SENIOR_GRADER: []}
        for user in User.objects.filter(groups__name__in=list(role_of)).order_by("username"):
            for group in user.groups.all():
                role_of.get(group.name, []).append(user.pk)
        self.graders = role_of[roles.GRADER] + role_of[roles.SENIOR_GRADER]
        self.seniors = role_of[roles.SENIOR_GRADER] or self.graders
        # A second grading and an arbitration follow: a senior grader is left to arbitrate.
        self.first_graders = role_of[roles.GRADER] or self.graders
        self.next_grading = (ExamGrading.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        self.rows = {"exams": [], "links": [], "gradings": [], "grades": [], "events": []}

    def _templates(self, programme) -> dict:
        """Per kind of finding, a few value sets with their decision (the programme's rules)."""
        from fundushub.grading.demo import demo_values
        from fundushub.grading.outcomes import decide, form_of

        form = form_of(programme.scheme)
        found = {}
        for kind in ("clear", "mild", "ungradable", "referable"):
            sets = [demo_values(form, kind, self.rng) for _ in range(6)]
            found[kind] = [(values, decide(programme, values)) for values in sets]
        return found

    def visit(self, images: list[dict], position: float) -> None:
        """One visit's examination: decided when old, on its way when recent."""
        from fundushub.grading.models import Outcome, Role, Stage
        from fundushub.store.models import GradingStatus

        first = images[0]
        code = self.disease_codes.get(first["disease_id"], "DR")
        programme = self.programmes.get(code)
        self.images, self.scheme_id = images, programme.scheme_id if programme else None
        taken = first["created_at"]
        exam = {
            "id": uuid.uuid4(),
            "hospital_id": first["hospital_id"],
            "lab_unit_id": first["lab_unit_id"],
            "group_key": f"visit:{first['subject_identifier']}:{first['visit_date'].isoformat()}",
            "subject_identifier": first["subject_identifier"],
            "visit_date": first["visit_date"],
            "programme_id": programme.pk if programme else None,
            "created_at": taken,
            "brought_by_id": first["uploaded_by_id"],
            "stage": Stage.PRIMARY,
            "waiting_since": taken,
            "second_reason": "",
            "primary_grader_id": None,
            "claimed_by_id": None,
            "claim_until": None,
            "disagreement": [],
            "outcome": "",
            "outcome_rule": "",
            "referable": None,
            "final_grading_id": None,
            "decided_by_id": None,
            "decided_reason": "",
            "decided_at": None,
        }
        self.rows["exams"].append(exam)
        for image in images:
            self.rows["links"].append(
                {"image_id": image["id"], "examination_id": exam["id"], "filed_at": taken}
            )
        if first["grading_status"] == GradingStatus.PRE_GRADED:
            grading = self._grading(exam, Role.PRE_GRADED, first["uploaded_by_id"], {}, None, 0)
            grading.update(outcome=Outcome.GRADED_ELSEWHERE, outcome_rule="pre-graded set")
            self._decide(exam, grading, first["uploaded_by_id"], "Pre-graded before upload", 0)
            return
        if programme is None:
            return
        plan = self._plan(position)
        if plan == "primary":
            self._claim(exam)
            return
        kinds = self.templates[code]
        grader = self.rng.choice(self.graders)
        days = self.rng.uniform(0.5, 4)
        if plan == "single":
            values, decision = self.rng.choice(kinds[self.rng.choice(["clear", "mild"])])
            grading = self._grading(exam, Role.PRIMARY, grader, values, decision, days)
            exam["primary_grader_id"] = grader
            self._decide(exam, grading, None, "Single grading: no second grading required", days)
            return
        values, decision = self.rng.choice(kinds["referable"])
        grader = self.rng.choice(self.first_graders)
        primary = self._grading(exam, Role.PRIMARY, grader, values, decision, days)
        exam.update(primary_grader_id=grader, second_reason="referable")
        if plan == "secondary":
            exam.update(stage=Stage.SECONDARY, waiting_since=primary["created_at"])
            self._claim(exam)
            return
        second = self.rng.choice([g for g in self.first_graders if g != grader] or self.graders)
        agree = plan == "agreed"
        values2, decision2 = (values, decision) if agree else self.rng.choice(kinds["clear"])
        days += self.rng.uniform(0.5, 3)
        secondary = self._grading(exam, Role.SECONDARY, second, values2, decision2, days)
        if agree:
            self._decide(exam, primary, None, "First and second graders agree", days)
            return
        found = [{"field": "outcome", "eye": "", "first": decision.outcome,
                  "second": decision2.outcome}]  # fmt: skip
        exam.update(disagreement=found)
        self._event("examination.disagreement", exam, second, days, found=found)
        if plan == "arbitration":
            exam.update(stage=Stage.ARBITRATION, waiting_since=secondary["created_at"])
            self._claim(exam)
            return
        arbiter = self.rng.choice(
            [s for s in self.seniors if s not in (grader, second)] or self.seniors
        )
        days += self.rng.uniform(0.5, 5)
        final = self._grading(exam, Role.ARBITRATION, arbiter, values, decision, days)
        self._decide(exam, final, arbiter, "Reviewed both gradings: the first reading stands", days)

    def _plan(self, position: float) -> str:
        """Older visits (the first 60%) decided, but for a few stragglers; recent ones waiting."""
        rng = self.rng
        if position < 0.6 and rng.random() < 0.98:
            return rng.choices(["single", "agreed", "arbitrated"], [70, 20, 10])[0]
        if position < 0.6:
            return "primary"
        return rng.choices(["primary", "secondary", "arbitration"], [60, 25, 15])[0]

    def _claim(self, exam: dict) -> None:
        """8% of waiting examinations are claimed; half of those claims have run out."""
        if self.rng.random() < 0.08:
            minutes = self.rng.choice((10, -60))
            exam.update(
                claimed_by_id=self.rng.choice(self.graders),
                claim_until=self.now + timedelta(minutes=minutes),
            )

    def _at(self, exam: dict, days: float):
        return min(exam["created_at"] + timedelta(days=days), self.now)

    def _grading(self, exam, role, grader, values, decision, days) -> dict:
        grading = {
            "id": self.next_grading,
            "examination_id": exam["id"],
            "role": role,
            "revision": 1,
            "grader_id": grader,
            "scheme_id": self.scheme_id if decision else None,
            "values": values,
            "outcome": decision.outcome if decision else "",
            "outcome_rule": decision.rule if decision else "",
            "referable": decision.referable if decision else False,
            "notes": "",
            "created_at": self._at(exam, days),
        }
        if decision is not None:
            self._event("examination.graded", exam, grader, days, role=role, values=values,
                        outcome=grading["outcome"], rule=grading["outcome_rule"])  # fmt: skip
        self.next_grading += 1
        self.rows["gradings"].append(grading)
        return grading

    def _decide(self, exam: dict, grading: dict, user, reason: str, days: float) -> None:
        from fundushub.grading.models import Stage

        at = self._at(exam, days)
        exam.update(
            stage=Stage.DONE,
            waiting_since=at,
            outcome=grading["outcome"],
            outcome_rule=grading["outcome_rule"],
            referable=grading["referable"],
            final_grading_id=grading["id"],
            decided_by_id=user,
            decided_reason=reason,
            decided_at=at,
        )
        self._event("examination.decided", exam, user, days, outcome=grading["outcome"],
                    rule=grading["outcome_rule"], grading=grading["id"], reason=reason)  # fmt: skip
        if grading["values"]:  # each image of a known eye: its eye's grade, the next revision
            for image in self.images:
                eye = self.eyes.get(image["area_id"])
                if eye in ("right", "left"):
                    self.rows["grades"].append((image, eye, grading, at))

    def _event(self, action: str, exam: dict, user, days: float, **data) -> None:
        self.rows["events"].append(
            {
                "at": self._at(exam, days),
                "user_id": user,
                "action": action,
                "object_type": "examination",
                "object_id": str(exam["id"]),
                "ip": None,
                "user_agent": "",
                "data": data,
            }
        )


def _file_in_bulk(rng: random.Random) -> int:
    """Group the unfiled images into visits (hospital, subject, local day), as file_image does,
    and write each visit's examination and what its grading left, CHUNK visits per transaction."""
    from django.utils import timezone

    from fundushub.store.models import Image

    fields = ("id", "hospital_id", "lab_unit_id", "subject_identifier", "created_at",
              "uploaded_by_id", "disease_id", "grading_status", "area_id")  # fmt: skip
    unfiled = Image.objects.filter(examination_link__isnull=True).order_by("created_at", "id")
    visits = {}
    for row in unfiled.values(*fields).iterator(chunk_size=20_000):
        row["visit_date"] = timezone.localdate(row["created_at"])
        key = (row["hospital_id"], row["subject_identifier"] or row["id"], row["visit_date"])
        visits.setdefault(key, []).append(row)
    ordered = list(visits.values())
    seeder = Seeder(rng)
    for i, images in enumerate(ordered):
        seeder.visit(images, i / len(ordered))
        if len(seeder.rows["exams"]) >= CHUNK or i == len(ordered) - 1:
            _write(seeder.rows)
            seeder.rows = {name: [] for name in seeder.rows}
    return len(ordered)


def _write(rows: dict) -> None:
    from django.db import transaction
    from django.db.models import Max

    from fundushub.audit.models import AuditEvent
    from fundushub.grading.models import (
        ExamGrading,
        Examination,
        ExaminationImage,
        Grade,
        Outcome,
    )
    from fundushub.grading.outcomes import summary
    from fundushub.store.models import GradingStatus, Image

    image_ids = [image["id"] for image, _, _, _ in rows["grades"]]
    with transaction.atomic():
        last = dict(
            Grade.objects.filter(image_id__in=image_ids)
            .values("image_id")
            .annotate(m=Max("revision"))
            .values_list("image_id", "m")
        )
        grades = [
            {
                "image_id": image["id"],
                "revision": last.get(image["id"], 0) + 1,
                "disease_id": image["disease_id"],
                "grade": summary(grading["values"], eye)[:20],
                "notes": f"Examination outcome: {Outcome(grading['outcome']).label}",
                "graded_by_id": grading["grader_id"],
                "graded_at": at,
                "grading_id": grading["id"],
            }
            for image, eye, grading, at in rows["grades"]
        ]
        _insert(Examination, rows["exams"])
        _insert(ExaminationImage, rows["links"])
        _insert(ExamGrading, rows["gradings"])
        _insert(Grade, grades)
        _insert(AuditEvent, rows["events"])
        graded = Image.objects.filter(pk__in=image_ids).exclude(
            grading_status=GradingStatus.PRE_GRADED
        )
        graded.update(grading_status=GradingStatus.GRADED)
    _reset_sequence(ExamGrading)


def _insert(model, rows: list[dict]) -> None:
    """COPY on PostgreSQL (JSON columns adapted), bulk_create elsewhere; auto_now_add columns
    keep the times given."""
    from django.db import connection, models

    from fundushub.library.seeding import _copy

    if not rows:
        return
    if connection.vendor == "postgresql":
        json = [f for f in model._meta.concrete_fields if isinstance(f, models.JSONField)]
        for row in rows:
            for f in json:
                if f.attname in row:
                    row[f.attname] = f.get_db_prep_save(row[f.attname], connection)
        _copy(model, rows)
        return
    with _keep_given_times(model):
        model.objects.bulk_create([model(**row) for row in rows], batch_size=2_000)


@contextlib.contextmanager
def _keep_given_times(model):
    fields = [f for f in model._meta.concrete_fields if getattr(f, "auto_now_add", False)]
    for f in fields:
        f.auto_now_add = False
    try:
        yield
    finally:
        for f in fields:
            f.auto_now_add = True


def _reset_sequence(model) -> None:
    """Gradings were given their ids: the next one the database makes must follow them."""
    from django.core.management.color import no_style
    from django.db import connection

    statements = connection.ops.sequence_reset_sql(no_style(), [model])
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


# Timing -----------------------------------------------------------------------------------


def _time_request(client, url: str, repeat: int) -> tuple[list[float], list[tuple]]:
    """Server times of the page in ms, and the statements (SQL, parameters) its last request ran.
    Parameters are kept apart, as the request sends them: SQLite plans differently with literals
    (a partial index is used only for a WHERE that matches its own text)."""
    from django.db import connection

    times, statements = [], []
    for i in range(repeat + 2):  # two warm-up requests
        seen = []

        def record(execute, sql, params, many, context, seen=seen):
            seen.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        if i >= 2:
            times.append(elapsed * 1000)
            statements = seen
    return times, statements


def _time_sql(statements: list[tuple], repeat: int) -> list[float]:
    """The floor: the page's SELECT statements alone, with their parameters, on one cursor."""
    from django.db import connection

    selects = [(sql, params) for sql, params in statements if _is_select(sql)]
    times = []
    with connection.cursor() as cursor:
        for i in range(repeat + 2):
            started = time.perf_counter()
            for sql, params in selects:
                cursor.execute(sql, params)
                cursor.fetchall()
            if i >= 2:
                times.append((time.perf_counter() - started) * 1000)
    return times


def _is_select(sql: str) -> bool:
    return sql.lstrip("( ").upper().startswith(("SELECT", "WITH"))


def _p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _worklist_pages(user) -> dict[str, str]:
    from django.utils import timezone

    from fundushub.grading import worklist
    from fundushub.grading.workflow import waiting_for

    waiting = waiting_for(user)
    n = waiting.count()
    deep = waiting.values_list("waiting_since", "id")[int(n * 0.9)]
    unit = user.lab_units.order_by("pk").values_list("pk", flat=True).first()
    today = timezone.localdate()
    subject = waiting.values_list("subject_identifier", flat=True)[n // 2][:8]
    return {
        "worklist first": "/grading/",
        "worklist deep": f"/grading/?after={worklist.encode(*deep)}",
        "worklist filtered": f"/grading/?stage=first&lab_unit={unit}"
        f"&date_from={today - timedelta(days=120)}&date_to={today}",
        "worklist subject": f"/grading/?subject={subject}",
    }


def _exam_pages(user, graders: bool) -> dict[str, str]:
    from fundushub.grading.models import Examination, Role, Stage

    visible = Examination.objects.visible_to(user)
    arbitrated = visible.filter(stage=Stage.DONE, final_grading__role=Role.ARBITRATION)
    waiting = visible.filter(stage=Stage.SECONDARY, claim_until__isnull=True)
    pages = {
        "exam decided": f"/examinations/{arbitrated.order_by('-decided_at').first().pk}",
        "exam waiting": f"/examinations/{waiting.order_by('waiting_since').first().pk}",
    }
    if graders:
        primary = visible.filter(stage=Stage.PRIMARY, claim_until__isnull=True)
        exam = primary.exclude(brought_by=user).order_by("waiting_since").first()
        pages["grade page"] = f"/grading/examinations/{exam.pk}/grade"
    return pages


def _grading_pages(user) -> dict[str, str]:
    return {**_worklist_pages(user), **_exam_pages(user, graders=True)}


def _manager_pages(user) -> dict[str, str]:
    return _exam_pages(user, graders=False)


PAGES_OF = {"grader": _grading_pages, "senior": _grading_pages, "manager": _manager_pages}


def _bench_user(username: str, args, pages_of) -> float:
    """Print one user's pages; returns the slowest page's p95."""
    from django.test import Client

    from fundushub.accounts.models import User

    user = User.objects.get(username=username)
    client = Client()
    client.force_login(user)
    worst = 0.0
    for name, url in pages_of(user).items():
        times, sql = _time_request(client, url, args.repeat)
        floor = _time_sql(sql, args.repeat)
        med, p95, fmed = statistics.median(times), _p(times, 0.95), statistics.median(floor)
        worst = max(worst, p95)
        print(
            f"  {username:8s} {name:18s} {med:7.1f} {p95:7.1f} ms {len(sql):8d} "
            f"{fmed:7.1f} ms {med / fmed:6.2f}x",
            flush=True,
        )
        if args.explain and name.startswith("worklist"):
            _explain(sql)
    return worst


def _explain(statements: list[tuple]) -> None:
    """The plans of the page's examinations query (ordered by waiting_since) and its counts."""
    from django.db import connection

    wanted = [
        (sql, params)
        for sql, params in statements
        if 'FROM "grading_examination" ' in sql
        and ("waiting_since" in sql.rsplit("ORDER BY", 1)[-1] or "COUNT(" in sql)
    ]
    prefix = "EXPLAIN ANALYZE " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        for sql, params in wanted:
            cursor.execute(prefix + sql, params)
            print("      --")
            for row in cursor.fetchall():
                print("      " + " ".join(str(c) for c in row))


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="examinations (default %(default)s)")
    parser.add_argument("--data-dir", default=str(ROOT / "var-bench-worklist"))
    parser.add_argument("--repeat", type=int, default=15, help="timed requests per page")
    parser.add_argument(
        "--pictures", type=int, default=50, help="pictures the seeded rows share (%(default)s)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the database as it is: no migrate, no reference data, no seeding",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print the plans of each worklist page's examinations query and counts",
    )
    parser.add_argument(
        "--users",
        default="grader,senior,manager",
        help="demo accounts to time, of grader (worklist, grading and examination pages), "
        "senior (the same, with arbitration) and manager (examination pages); "
        "default %(default)s",
    )
    return parser.parse_args()


def main() -> int:
    args = _arguments()
    if not set(args.users.split(",")) <= set(PAGES_OF):
        sys.exit("--users: a comma-separated list of grader, senior and manager")
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    _setup(data_dir)
    if not args.reuse:
        _prepare(args.n, args.pictures)

    from collections import Counter

    from django.db import connection

    from fundushub.grading.models import Examination

    stages = Counter(Examination.objects.values_list("stage", flat=True))
    print(
        f"\nWorklist benchmark: {sum(stages.values())} examinations "
        f"({', '.join(f'{n} {s}' for s, n in sorted(stages.items()))}), {connection.vendor}, "
        f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}), {args.repeat} timed "
        "requests per page (median, p95)\n"
    )
    print(
        f"  {'user':8s} {'page':18s} {'request':>17s} {'queries':>8s} {'SQL floor':>10s} "
        f"{'ratio':>7s}"
    )
    worst = max(_bench_user(name, args, PAGES_OF[name]) for name in args.users.split(","))
    verdict = "met" if worst <= 150 else "MISSED"
    print(f"\n  slowest page p95 {worst:.1f} ms; target <= 150 ms server time p95: {verdict}")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
