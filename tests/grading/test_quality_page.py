"""/grading/quality and /grading/quality.csv: who sees them, scope, filters, charts, CSV."""

import csv
import io
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from fundushub.audit.models import AuditEvent
from fundushub.grading.models import ExamGrading, Programme, Role
from fundushub.grading.quality_views import MAX_DAYS
from tests.conftest import make_user
from tests.grading.test_gradability_agreement import build_fixture
from tests.grading.test_quality import T0, add_exam, add_grading, build_march, decide

PAGE = "/grading/quality"
CSV = "/grading/quality.csv"
MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31"}


@pytest.fixture
def march(graders):
    return build_march(graders)


def page(client, user, params=None, url=PAGE):
    client.force_login(user)
    return client.get(url, params or {})


def text(response) -> str:
    return response.content.decode()


def csv_table(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# --- who may look ---------------------------------------------------------------------------------


def test_it_asks_a_visitor_to_sign_in(client, world):
    assert client.get(PAGE)["Location"].startswith("/accounts/login/")
    assert client.get(CSV)["Location"].startswith("/accounts/login/")


def test_it_is_forbidden_to_graders_and_uploaders(client, graders):
    for user in (graders.gina, graders.greg, graders.alice):
        assert page(client, user).status_code == 403
        assert page(client, user, url=CSV).status_code == 403


def test_senior_graders_data_managers_and_admins_see_it(client, graders):
    for user in (graders.sophie, graders.mary, graders.root):
        assert page(client, user).status_code == 200


def test_the_menu_links_it_only_for_those_who_see_it(client, graders):
    client.force_login(graders.sophie)
    assert 'href="/grading/quality">Quality<' in text(client.get("/", follow=True))
    client.force_login(graders.gina)
    assert 'href="/grading/quality"' not in text(client.get("/", follow=True))


# --- figures, charts and empty states -------------------------------------------------------------


def test_it_shows_each_graders_figures_for_the_period(client, march):
    body = text(page(client, march.sophie, MARCH))
    assert '<tr data-grader="gina">' in body
    gina = body.split('<tr data-grader="gina">')[1].split("</tr>")[0]
    for figure in ("12", "6.5 h", "19.0 h", "0.49", "moderate", "66.7%", "85.7%"):
        assert figure in gina
    sophie = body.split('<tr data-grader="sophie">')[1].split("</tr>")[0]
    assert "nothing to compare" in sophie and "—" in sophie
    everyone = body.split('<tr data-grader="all">')[1].split("</tr>")[0]
    assert "0.67" in everyone and "substantial" in everyone and "83.3%" in everyone


def test_the_charts_are_inline_svg_with_a_title_a_description_and_the_values(client, march):
    body = text(page(client, march.sophie, MARCH))
    assert '<svg class="qa-chart" id="kappa-chart" role="img"' in body
    assert '<title id="kappa-chart-title">' in body
    assert "gina: 0.49 (n = 10); greg: 0.84 (n = 10); sophie: — not computed." in body
    assert ">0.6 substantial<" in body and ">0.8 almost perfect<" in body
    assert "Retina (St Lucia): 16.7% (2 of 12)" in body
    assert "Camera not recorded: 16.7% (2 of 12)" in body  # the fixture's exams have no images
    assert "<script" not in body.split("<main")[1].split("</main>")[0]


def test_it_defaults_to_the_last_90_days(client, march):
    response = page(client, march.sophie)
    today = timezone.localdate()
    body = text(response)
    assert f'value="{(today - timedelta(days=89)).isoformat()}"' in body
    assert f'value="{today.isoformat()}"' in body
    # The March fixture is older than that: an empty state, not an empty table.
    assert 'id="empty-state"' in body and 'id="graders"' not in body
    assert 'id="no-decided"' in body


def test_a_period_with_no_gradings_says_so(client, graders):
    body = text(page(client, graders.mary, MARCH))
    assert "No first, second or arbitration gradings between 2026-03-01 and 2026-03-31" in body
    assert "kappa-chart" not in body


def test_someone_with_no_lab_unit_is_told_why_there_is_nothing(client, march):
    lonely = make_user("lena", "Senior grader", [])
    assert 'id="no-lab-units"' in text(page(client, lonely, MARCH))


def test_the_lab_unit_filter_narrows_to_one_of_the_viewers_lab_units(client, march):
    body = text(page(client, march.mary, {**MARCH, "lab_unit": march.screening.pk}))
    assert 'id="empty-state"' in body
    body = text(page(client, march.mary, {**MARCH, "lab_unit": march.retina.pk}))
    assert '<tr data-grader="gina">' in body


def test_the_programme_filter_keeps_only_its_examinations(client, march):
    glaucoma = Programme.objects.get(name="Glaucoma screening")
    body = text(page(client, march.sophie, {**MARCH, "programme": glaucoma.pk}))
    assert 'id="empty-state"' in body


# --- scope --------------------------------------------------------------------------------------


def test_a_lab_unit_that_is_not_the_viewers_does_not_exist_for_them(client, march):
    outside = {**MARCH, "lab_unit": march.outpatients.pk}
    assert page(client, march.sophie, outside).status_code == 404
    assert page(client, march.sophie, outside, url=CSV).status_code == 404


def test_examinations_of_other_lab_units_are_not_counted(client, march):
    # root's only lab unit is Outpatients: the Retina fixture is not his to see.
    bobs = add_exam(march, 99, T0, lab_unit=march.outpatients)
    add_grading(bobs, Role.PRIMARY, march.bob, "recall_12", T0 + timedelta(hours=2))
    body = text(page(client, march.root, MARCH))
    assert '<tr data-grader="bob">' in body and '<tr data-grader="gina">' not in body
    body = text(page(client, march.sophie, MARCH))
    assert '<tr data-grader="bob">' not in body


# --- invalid filters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, message",
    [
        ({"date_from": "03/01/2026"}, "Enter a date as YYYY-MM-DD"),
        ({"date_to": "2026-02-30"}, "Enter a date as YYYY-MM-DD"),
        ({"date_from": "1899-12-31"}, "between 1900 and 2999"),
        ({"date_from": "2026-04-01", "date_to": "2026-03-01"}, "must end on or after"),
        ({"date_from": "2020-01-01", "date_to": "2026-01-01"}, f"at most {MAX_DAYS} days"),
        ({"lab_unit": "retina"}, "Choose a lab unit from the list"),
        ({"lab_unit": "²"}, "Choose a lab unit from the list"),
        ({"programme": "999999"}, "Choose a programme from the list"),
    ],
)
def test_an_invalid_filter_is_refused_with_what_to_fix(client, graders, params, message):
    response = page(client, graders.sophie, params)
    assert response.status_code == 400
    assert message in text(response) and 'aria-invalid="true"' in text(response)
    refused = page(client, graders.sophie, params, url=CSV)
    assert refused.status_code == 400 and message in text(refused)


def test_the_longest_period_allowed_is_accepted(client, graders):
    start = timezone.localdate() - timedelta(days=MAX_DAYS - 1)
    params = {"date_from": start.isoformat(), "date_to": timezone.localdate().isoformat()}
    assert page(client, graders.sophie, params).status_code == 200
    params["date_from"] = (start - timedelta(days=1)).isoformat()
    assert page(client, graders.sophie, params).status_code == 400


# --- CSV ----------------------------------------------------------------------------------------


def test_the_csv_holds_the_same_table_with_numbers_as_numbers(client, march):
    response = page(client, march.sophie, MARCH, url=CSV)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        'filename="grading-quality-2026-03-01-to-2026-03-31.csv"'
        in (response["Content-Disposition"])
    )
    table = csv_table(response)
    assert table[0][:3] == ["grader", "examinations", "first_gradings"]
    rows = {r[0]: r for r in table[1:]}
    assert list(rows) == ["gina", "greg", "sophie", "All graders"]
    assert rows["gina"] == [
        "gina",
        "12",
        "12",
        "0",
        "0",
        "6.5",
        "19.0",
        "10",
        "0.492",
        "0.667",
        "0.857",
    ]
    assert rows["sophie"][-4:] == ["0", "", "", ""]
    assert rows["All graders"][8] == "0.667"


def test_the_csv_link_carries_the_pages_filters(client, march):
    body = text(page(client, march.sophie, {**MARCH, "lab_unit": march.retina.pk}))
    assert (
        f"/grading/quality.csv?date_from=2026-03-01&amp;date_to=2026-03-31&amp;lab_unit={march.retina.pk}"
        in body
    )


def test_a_grader_name_a_spreadsheet_would_run_is_defused_but_a_negative_kappa_stays_a_number(
    client, graders
):
    # Usernames may start with @, + or -: spreadsheets read those as formulas.
    sly = make_user("@SUM", "Grader", [graders.retina])
    for n, (mine, final) in enumerate([("recall_12", "refer_soon"), ("refer_soon", "recall_12")]):
        exam = add_exam(graders, n, T0)
        add_grading(exam, Role.PRIMARY, sly, mine, T0 + timedelta(hours=1))
        add_grading(exam, Role.SECONDARY, graders.greg, final, T0 + timedelta(hours=2))
        deciding = add_grading(
            exam, Role.ARBITRATION, graders.sophie, final, T0 + timedelta(hours=3)
        )
        decide(exam, deciding, T0 + timedelta(hours=3))
    rows = {r[0]: r for r in csv_table(page(client, graders.sophie, MARCH, url=CSV))}
    assert "'@SUM" in rows and "@SUM" not in rows
    assert rows["'@SUM"][8] == "-1.0"


def test_a_csv_export_is_audited(client, march):
    page(client, march.mary, MARCH, url=CSV)
    event = AuditEvent.objects.get(action="grading.quality_exported")
    assert event.user == march.mary and event.data["filters"]["date_from"] == "2026-03-01"


def test_the_csv_of_an_empty_period_has_the_header_and_the_all_graders_row(client, graders):
    table = csv_table(page(client, graders.sophie, MARCH, url=CSV))
    assert len(table) == 2 and table[1][:2] == ["All graders", "0"]


# --- cost ---------------------------------------------------------------------------------------


def test_the_page_costs_the_same_queries_however_many_graders_and_gradings(
    client, march, django_assert_max_num_queries
):
    client.force_login(march.sophie)
    with django_assert_max_num_queries(14) as small:  # 12, and 2 for automatic gradability
        client.get(PAGE, MARCH)
    for n in range(5):
        extra = make_user(f"extra{n}", "Grader", [march.retina])
        exam = add_exam(march, 200 + n, T0)
        add_grading(exam, Role.PRIMARY, extra, "recall_12", T0 + timedelta(hours=1))
    assert ExamGrading.objects.count() == 30
    build_fixture(march)  # and images with gradability verdicts in decided examinations
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(PAGE, MARCH)


# --- automatic gradability against the graders' U (issue 15) --------------------------------------

SPRING = {"date_from": "2026-03-01", "date_to": "2026-04-30"}
GRADABILITY_CSV = "/grading/quality/gradability.csv"


@pytest.fixture
def checked(graders):
    """test_gradability_agreement's fixture: 8 images compared, 5 agree, 2 not compared."""
    return build_fixture(graders)


def section(body) -> str:
    start = body.index('id="gradability-agreement"')
    return body[start : body.index("</section>", start)]


def test_it_shows_the_graders_u_against_the_automatic_verdict(client, checked):
    body = section(text(page(client, checked.sophie, SPRING)))
    assert "Agreement 62.5 % · 5 of 8 images" in body
    table = body[body.index('id="agreement-table"') : body.index("</table>")]
    assert [
        re.sub(r"<[^>]+>", " ", row).split()
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[2:]
    ] == [["Graded", "U", "1", "1", "2"], ["Graded,", "not", "U", "2", "1", "1"]]
    assert "2 images not compared" in body
    months = body[body.index('id="agreement-months"') :]
    assert "March 2026" in months and "April 2026" in months and "66.7 %" in months
    link = f'href="/grading/quality/gradability.csv?{urlencode(SPRING).replace("&", "&amp;")}"'
    assert link in body


def test_one_month_has_no_per_month_table_and_nothing_decided_says_so(client, checked):
    body = section(text(page(client, checked.sophie, MARCH)))
    assert "Agreement 66.7 % · 4 of 6 images" in body and "agreement-months" not in body
    body = section(
        text(page(client, checked.sophie, {"date_from": "2025-01-01", "date_to": "2025-01-31"}))
    )
    assert 'id="no-agreement"' in body and "agreement-csv" not in body


def test_other_lab_units_are_not_in_the_viewers_table(client, checked):
    body = section(text(page(client, checked.root, SPRING)))  # Outpatients only: exam 7
    assert "Agreement 100.0 % · 1 of 1 image" in body


def test_the_gradability_csv_holds_the_six_counts_per_month_and_for_the_period(client, checked):
    response = page(client, checked.mary, SPRING, url=GRADABILITY_CSV)
    assert response["Content-Disposition"] == (
        'attachment; filename="gradability-agreement-2026-03-01-to-2026-04-30.csv"'
    )
    assert csv_table(response) == [
        [
            "month",
            "graded_u_good",
            "graded_u_usable",
            "graded_u_ungradable",
            "graded_not_u_good",
            "graded_not_u_usable",
            "graded_not_u_ungradable",
            "compared",
            "agreed",
            "agreement",
            "not_compared",
        ],
        ["2026-03", "1", "0", "2", "1", "1", "1", "6", "4", "0.667", "2"],
        ["2026-04", "0", "1", "0", "1", "0", "0", "2", "1", "0.5", "0"],
        ["all", "1", "1", "2", "2", "1", "1", "8", "5", "0.625", "2"],
    ]
    event = AuditEvent.objects.get(action="grading.gradability_exported")
    assert event.data["images"] == 8


def test_the_gradability_csv_is_refused_with_a_bad_filter_and_forbidden_to_graders(client, checked):
    response = page(client, checked.mary, {"date_from": "soon"}, url=GRADABILITY_CSV)
    assert response.status_code == 400 and "YYYY-MM-DD" in response.content.decode()
    assert page(client, checked.gina, SPRING, url=GRADABILITY_CSV).status_code == 403
    other = {**SPRING, "lab_unit": str(checked.outpatients.pk)}
    assert page(client, checked.mary, other, url=GRADABILITY_CSV).status_code == 404


def test_the_gradability_csv_of_an_empty_period_has_the_header_and_the_all_row(client, graders):
    table = csv_table(page(client, graders.mary, MARCH, url=GRADABILITY_CSV))
    assert len(table) == 2 and table[1] == ["all", "0", "0", "0", "0", "0", "0", "0", "0", "", "0"]
