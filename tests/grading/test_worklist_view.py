"""GET /grading/: the examinations waiting for a grader, their lab units only, oldest first,
filtered, counted per stage, in keyset pages at a fixed number of queries."""

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fundushub.grading import workflow, worklist
from fundushub.grading.models import Examination
from tests.conftest import examination_of
from tests.grading.pages import dr, dr_programme, waited

URL = "/grading/"


@pytest.fixture
def programme(graders):
    return dr_programme(second_referable=True)


def rows(response) -> list[str]:
    """The subjects listed, in order."""
    html = response.content.decode()
    return re.findall(r'<td data-label="Subject"><strong>([^<]+)</strong>', html)


def exams(world, n, start=0, **fields):
    made = []
    for i in range(start, start + n):
        exam = examination_of(world, i, subject=f"S-{i:03d}", eyes=("right",), **fields)
        made.append(waited(exam, 10_000 - i))  # S-000 has waited longest
    return made


def test_it_sends_anonymous_visitors_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_refuses_users_who_do_not_grade(client, world):
    for user in (world.alice, world.mary):
        client.force_login(user)
        assert client.get(URL).status_code == 403


def test_it_lists_the_examinations_waiting_for_the_grader_oldest_first(client, programme, graders):
    exams(graders, 3)
    client.force_login(graders.gina)
    response = client.get(URL)
    assert response.status_code == 200
    assert rows(response) == ["S-000", "S-001", "S-002"]


def test_it_shows_only_the_graders_lab_units(client, programme, graders):
    exams(graders, 1)
    examination_of(graders, 50, subject="ELSEWHERE", lab_unit=graders.outpatients, user=graders.bob)
    client.force_login(graders.gina)
    response = client.get(URL)
    assert rows(response) == ["S-000"]
    assert "ELSEWHERE" not in response.content.decode()


def test_it_leaves_out_examinations_someone_else_holds_and_badges_the_graders_own(
    client, programme, graders
):
    mine, theirs, free = exams(graders, 3)
    assert workflow.claim(graders.gina, mine)
    assert workflow.claim(graders.greg, theirs)
    client.force_login(graders.gina)
    response = client.get(URL)
    assert rows(response) == ["S-000", "S-002"]
    html = response.content.decode()
    assert html.count("Claimed by you") == 1
    assert html.index("Claimed by you") < html.index("S-002")


def test_each_row_tells_the_visit_lab_unit_stage_waiting_time_and_images_per_eye(
    client, programme, graders
):
    exam = examination_of(graders, 1, subject="S-1", eyes=("right", "right", "left", None))
    waited(exam, 3 * 24 * 60 + 5)
    client.force_login(graders.gina)
    html = client.get(URL).content.decode()
    assert f'datetime="{exam.visit_date:%Y-%m-%d}"' in html
    assert "Retina" in html and "Diabetic eye screening" in html
    assert ">First grading</span></td>" in html and 'title="Awaiting first grading"' in html
    assert "3\xa0days" in html
    assert "OD 2</span> · <span" in html and "OS 1</span>" in html
    assert "? 1</span>" in html  # an image of no recorded eye
    assert f"/grading/examinations/{exam.pk}/grade" in html


def test_it_counts_the_waiting_examinations_per_stage(client, programme, graders):
    a, b, c = exams(graders, 3)
    workflow.record_grading(graders.greg, a, dr("R2"))  # referable: goes to a second grader
    client.force_login(graders.gina)
    html = client.get(URL).content.decode()
    assert re.search(r'id="count-all">3<', html)
    assert re.search(r'id="count-first">2<', html)
    assert re.search(r'id="count-second">1<', html)
    assert 'id="count-arbitration"' not in html  # not a senior grader


def test_senior_graders_see_the_arbitration_queue(client, programme, graders):
    (exam,) = exams(graders, 1)
    workflow.record_grading(graders.gina, exam, dr("R2"))
    workflow.record_grading(graders.greg, Examination.objects.get(pk=exam.pk), dr("R0"))
    client.force_login(graders.gina)
    assert rows(client.get(URL)) == []
    client.force_login(graders.sophie)
    response = client.get(URL, {"stage": "arbitration"})
    assert rows(response) == ["S-000"]
    assert re.search(r'id="count-arbitration">1<', response.content.decode())


def test_it_filters_by_stage(client, programme, graders):
    a, b = exams(graders, 2)
    workflow.record_grading(graders.greg, a, dr("R2"))
    client.force_login(graders.gina)
    assert rows(client.get(URL, {"stage": "second"})) == ["S-000"]
    assert rows(client.get(URL, {"stage": "first"})) == ["S-001"]


def test_it_filters_by_lab_unit_programme_visit_dates_and_subject(client, programme, graders):
    graders.gina.lab_units.add(graders.screening)
    a, b = exams(graders, 2)
    c = examination_of(graders, 9, subject="XY-77", eyes=("right",), lab_unit=graders.screening)
    Examination.objects.filter(pk=a.pk).update(visit_date=date(2026, 1, 5))
    Examination.objects.filter(pk=b.pk).update(visit_date=date(2026, 2, 5))
    client.force_login(graders.gina)
    assert rows(client.get(URL, {"lab_unit": graders.screening.pk})) == ["XY-77"]
    assert rows(client.get(URL, {"date_from": "2026-01-01", "date_to": "2026-01-31"})) == ["S-000"]
    assert rows(client.get(URL, {"date_from": "2026-02-01", "date_to": "2026-02-28"})) == ["S-001"]
    assert rows(client.get(URL, {"subject": "xy-7"})) == ["XY-77"]
    assert rows(client.get(URL, {"programme": programme.pk})) == ["S-000", "S-001", "XY-77"]
    other = type(programme).objects.exclude(pk=programme.pk).first()
    response = client.get(URL, {"programme": other.pk})
    assert rows(response) == []
    assert "No waiting examination matches these filters" in response.content.decode()
    assert c.programme == programme


def test_a_value_that_does_not_parse_is_named_and_left_out(client, programme, graders):
    exams(graders, 1)
    client.force_login(graders.gina)
    response = client.get(URL, {"stage": "done", "date_from": "05/01/2026", "lab_unit": "x"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Stage “done” was left out" in html
    assert "Visit from “05/01/2026” was left out: enter a date as YYYY-MM-DD" in html
    assert "Lab unit “x” was left out" in html
    assert rows(response) == ["S-000"]


def test_a_lab_unit_outside_the_graders_scope_shows_nothing(client, programme, graders):
    exams(graders, 1)
    examination_of(graders, 50, subject="ELSEWHERE", lab_unit=graders.outpatients, user=graders.bob)
    client.force_login(graders.gina)
    assert rows(client.get(URL, {"lab_unit": graders.outpatients.pk})) == []


def test_it_pages_by_key_forward_and_back(client, programme, graders, monkeypatch):
    monkeypatch.setattr(worklist, "PER_PAGE", 2)
    exams(graders, 5)
    client.force_login(graders.gina)
    first = client.get(URL, {"stage": "first"})
    assert rows(first) == ["S-000", "S-001"]
    later = re.search(r'rel="next" href="([^"]+)"', first.content.decode()).group(1)
    assert "stage=first" in later and "after=" in later
    second = client.get(later.replace("&amp;", "&"))
    assert rows(second) == ["S-002", "S-003"]
    html = second.content.decode()
    third = client.get(re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&"))
    assert rows(third) == ["S-004"]
    assert 'rel="next"' not in third.content.decode()
    back = re.search(r'rel="prev" href="([^"]+)"', third.content.decode()).group(1)
    assert rows(client.get(back.replace("&amp;", "&"))) == ["S-002", "S-003"]
    back = re.search(r'rel="prev" href="([^"]+)"', html).group(1)
    assert rows(client.get(back.replace("&amp;", "&"))) == ["S-000", "S-001"]


def test_examinations_waiting_since_the_same_moment_are_paged_by_id(
    client, programme, graders, monkeypatch
):
    monkeypatch.setattr(worklist, "PER_PAGE", 2)
    made = exams(graders, 3)
    same = timezone.now() - timedelta(hours=1)
    Examination.objects.filter(pk__in=[e.pk for e in made]).update(waiting_since=same)
    by_id = [e.subject_identifier for e in sorted(made, key=lambda e: e.pk)]
    client.force_login(graders.gina)
    first = client.get(URL)
    later = re.search(r'rel="next" href="([^"]+)"', first.content.decode()).group(1)
    assert rows(first) + rows(client.get(later)) == by_id


def test_a_page_link_that_does_not_decode_gives_the_first_page(client, programme, graders):
    exams(graders, 2)
    client.force_login(graders.gina)
    for cursor in ("not-a-cursor", "bm90fGE"):
        response = client.get(URL, {"after": cursor})
        assert response.status_code == 200
        assert rows(response) == ["S-000", "S-001"]
        assert "That page link was not valid" in response.content.decode()


def _queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL).status_code == 200
    return len(captured)


def test_the_query_count_does_not_grow_with_the_rows(client, programme, graders):
    exams(graders, 3)
    few = _queries(client, graders.gina)
    exams(graders, 27, start=3)
    many = _queries(client, graders.gina)
    assert many == few
    assert few <= 14


def test_the_nav_shows_the_worklist_to_graders_only(client, programme, graders):
    client.force_login(graders.gina)
    assert 'href="/grading/">Worklist</a>' in client.get("/direct/dashboard").content.decode()
    client.force_login(graders.alice)
    assert "Worklist" not in client.get("/direct/dashboard").content.decode()
