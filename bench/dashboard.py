"""Dashboard benchmark: server time of /direct/dashboard at 100k images, with its SQL floor.

Seeds N synthetic images once into a data folder (kept for the next run; rows share --pictures
generated pictures, see seed_images), then times the whole Django request (middleware, queries,
template) for three pages: the first page, a deep page (a keyset cursor 90% of the way down) and
a filtered page (hospital + disease + date range), as a data manager who sees every lab unit and
as an uploader who sees one. Every page carries the KPI cards. In the same run it times the floor
— the very SQL statements the page ran, executed raw on the same connection, and the KPI
statement alone — and a peer: the OFFSET query a naive dashboard would use for the deep page.

    uv run python bench/dashboard.py                      # 100k images in ./var-bench-dashboard
    uv run python bench/dashboard.py -n 20000 --data-dir /tmp/dash
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dashbench uv run python bench/dashboard.py
    DATABASE_URL=... uv run python bench/dashboard.py -n 1000000 --reuse   # as already seeded
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
    from fundushub.library.seeding import seed_images
    from fundushub.store.models import Image

    call_command("migrate", interactive=False, verbosity=0)
    load_reference_data(demo=True)
    create_demo_users("bench")
    have = Image.objects.count()
    if have < n:
        started = time.monotonic()
        print(f"  seeding {n - have} images (once; kept in the data folder)...", flush=True)
        seed_images(n - have, seed=have + 1, size=(384, 288), batch=20_000, pictures=pictures)
        print(f"  seeded in {time.monotonic() - started:.0f} s", flush=True)
        if connection.vendor == "postgresql":  # planner statistics now, not when autovacuum runs
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")


def _deep_cursor(user, depth: float) -> str:
    from fundushub.library import keyset
    from fundushub.store.models import Image

    images = Image.objects.visible_to(user).order_by("-created_at", "-id")
    n = images.count()
    created_at, pk = images.values_list("created_at", "id")[int(n * depth)]
    return keyset.encode(created_at, pk)


def _filtered_query(user) -> str:
    from datetime import timedelta

    from django.utils import timezone

    from fundushub.catalog.models import Disease
    from fundushub.store.models import Image

    unit = Image.objects.visible_to(user).values_list("lab_unit__hospital_id", flat=True).first()
    disease = Disease.objects.get(code="DR").pk
    today = timezone.localdate()
    start = today - timedelta(days=120)
    return f"hospital={unit}&disease={disease}&date_from={start}&date_to={today}"


def _time_request(client, url: str, repeat: int) -> tuple[list[float], list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, sql = [], []
    for i in range(repeat + 2):  # two warm-up requests
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        if i >= 2:
            times.append(elapsed * 1000)
            sql = [q["sql"] for q in ctx.captured_queries]
    return times, sql


def _time_sql(statements: list[str], repeat: int) -> list[float]:
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for i in range(repeat + 2):
            started = time.perf_counter()
            for statement in statements:
                if statement.lstrip("( ").upper().startswith(("SELECT", "WITH")):
                    cursor.execute(statement)
                    cursor.fetchall()
            if i >= 2:
                times.append((time.perf_counter() - started) * 1000)
    return times


def _kpi_statements(statements: list[str]) -> list[str]:
    # The KPI cards' one statement: the only one grouping by area.
    return [s for s in statements if "GROUP BY" in s.upper() and "area_id" in s]


def _offset_peer(user, depth: float, per_page: int, repeat: int) -> list[float]:
    from fundushub.store.models import Image

    images = Image.objects.visible_to(user).select_related(
        "hospital", "lab_unit", "camera", "disease", "area"
    )
    offset = int(images.count() * depth)
    times = []
    for i in range(repeat + 2):
        started = time.perf_counter()
        list(images.order_by("-created_at", "-id")[offset : offset + per_page])
        if i >= 2:
            times.append((time.perf_counter() - started) * 1000)
    return times


def _p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="images (default %(default)s)")
    parser.add_argument("--data-dir", default=str(ROOT / "var-bench-dashboard"))
    parser.add_argument("--repeat", type=int, default=15, help="timed requests per page")
    parser.add_argument(
        "--peer-repeat", type=int, default=3, help="timed OFFSET queries (slow; %(default)s)"
    )
    parser.add_argument(
        "--pictures", type=int, default=200, help="pictures the seeded rows share (%(default)s)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the database as it is: no migrate, no reference data, no seeding",
    )
    return parser.parse_args()


def _bench_user(username: str, args) -> float:
    """Print one user's pages; returns the slowest page's p95."""
    from django.test import Client

    from fundushub.accounts.models import User

    user = User.objects.get(username=username)
    client = Client()
    client.force_login(user)
    pages = {
        "first": "/direct/dashboard",
        "deep": f"/direct/dashboard?cursor={_deep_cursor(user, 0.9)}",
        "filtered": f"/direct/dashboard?{_filtered_query(user)}",
    }
    worst = 0.0
    for name, url in pages.items():
        times, sql = _time_request(client, url, args.repeat)
        floor = _time_sql(sql, args.repeat)
        kpi = statistics.median(_time_sql(_kpi_statements(sql), args.repeat))
        med, p95, fmed = statistics.median(times), _p(times, 0.95), statistics.median(floor)
        worst = max(worst, p95)
        print(
            f"  {username:9s} {name:9s} {med:7.1f} {p95:7.1f} ms {len(sql):8d} "
            f"{fmed:7.1f} ms {med / fmed:5.2f}x {kpi:6.1f} ms"
        )
    peer = statistics.median(_offset_peer(user, 0.9, 48, args.peer_repeat))
    keyset_floor = statistics.median(_time_sql(_time_request(client, pages["deep"], 1)[1], 3))
    print(
        f"  {username:9s} peer: OFFSET query alone for the deep page {peer:.1f} ms "
        f"(the keyset page's whole SQL: {keyset_floor:.1f} ms)"
    )
    return worst


def main() -> int:
    args = _arguments()
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    _setup(data_dir)
    if not args.reuse:
        _prepare(args.n, args.pictures)

    from django.db import connection

    from fundushub.store.models import Image

    print(
        f"\nDashboard benchmark: {Image.objects.count()} images, {connection.vendor}, "
        f"{os.cpu_count()} CPUs, {args.repeat} timed requests per page (median, p95)\n"
    )
    print(
        f"  {'user':9s} {'page':9s} {'request':>17s} {'queries':>8s} {'SQL floor':>10s} "
        f"{'ratio':>6s} {'KPI SQL':>9s}"
    )
    worst = max(_bench_user(username, args) for username in ("manager", "uploader"))
    verdict = "met" if worst <= 150 else "MISSED"
    print(f"\n  slowest page p95 {worst:.1f} ms; target <= 150 ms server time p95: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
