"""grading/admin.py: schemes, fields and values, programmes and their outcome rules as reference
data; examinations and gradings looked at, not made."""

import pytest

from fundushub.audit.models import AuditEvent
from fundushub.grading import workflow
from fundushub.grading.models import (
    ExamGrading,
    Examination,
    OutcomeRule,
    Programme,
    Scheme,
    SchemeField,
    SchemeValue,
)
from tests.conftest import examination_of


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.root)
    return client


@pytest.fixture
def dr_programme(world):
    return Programme.objects.get(name="Diabetic eye screening")


def body(response) -> str:
    return response.content.decode()


def programme_post(programme, rules=None, **changes) -> dict:
    """The programme change form as the admin would post it, with its rules (as dicts)."""
    data = {
        "name": programme.name,
        "scheme": programme.scheme_id,
        "second_referable": "on",
        "qa_sample_percent": programme.qa_sample_percent,
        "compare_fields": "[]",
        "exclude_own": "on",
        "claim_minutes": programme.claim_minutes,
    }
    data.update(changes)
    if rules is None:
        rules = [
            {
                "id": r.pk,
                "position": r.position,
                "field": r.field,
                "values": r.values,
                "eyes": r.eyes,
                "outcome": r.outcome,
            }
            for r in programme.rules.all()
        ]
    existing = sum(1 for r in rules if r.get("id"))
    data.update({"rules-TOTAL_FORMS": len(rules), "rules-INITIAL_FORMS": existing})
    for n, rule in enumerate(rules):
        for key, value in rule.items():
            data[f"rules-{n}-{key}"] = value
        data[f"rules-{n}-programme"] = programme.pk
    return data


# --- pages render ---------------------------------------------------------------------------------


def test_every_grading_list_and_add_page_renders_for_an_admin(admin_client):
    for path in ("scheme", "schemefield", "programme", "examination", "examgrading"):
        assert admin_client.get(f"/admin/grading/{path}/").status_code == 200, path
    for path in ("scheme", "schemefield", "programme"):
        assert admin_client.get(f"/admin/grading/{path}/add/").status_code == 200, path


def test_change_pages_render_with_their_inlines(admin_client, graders, dr_programme):
    scheme = Scheme.objects.get(code="DR")
    page = body(admin_client.get(f"/admin/grading/scheme/{scheme.pk}/change/"))
    assert "Retinopathy" in page and "Maculopathy" in page
    field = SchemeField.objects.get(scheme=scheme, code="R")
    page = body(admin_client.get(f"/admin/grading/schemefield/{field.pk}/change/"))
    assert "R3a" in page and "Active proliferative" in page
    page = body(admin_client.get(f"/admin/grading/programme/{dr_programme.pk}/change/"))
    assert "R3a in either eye → Refer to the eye clinic: urgent" in page
    assert "otherwise → Routine recall in 12 months" in page

    exam = examination_of(graders, 1)
    workflow.record_grading(
        graders.gina,
        exam,
        {"right": {"R": "R0", "M": "M0", "P": "P0"}, "left": {"R": "R0", "M": "M0", "P": "P0"}},
    )
    page = body(admin_client.get(f"/admin/grading/examination/{exam.pk}/change/"))
    assert "105-10-0989-3" in page and "First grading" in page
    grading = ExamGrading.objects.get()
    assert admin_client.get(f"/admin/grading/examgrading/{grading.pk}/change/").status_code == 200


def test_the_admin_is_for_staff_only(client, graders):
    client.force_login(graders.sophie)
    assert client.get("/admin/grading/programme/").status_code == 302


# --- schemes as data ------------------------------------------------------------------------------


def test_an_admin_adds_a_scheme_with_its_fields_then_a_fields_values(admin_client):
    response = admin_client.post(
        "/admin/grading/scheme/add/",
        {
            "code": "HR",
            "name": "Hypertensive retinopathy",
            "fields-TOTAL_FORMS": "1",
            "fields-INITIAL_FORMS": "0",
            "fields-0-position": "0",
            "fields-0-code": "H",
            "fields-0-name": "Keith–Wagener–Barker",
        },
    )
    assert response.status_code == 302
    field = SchemeField.objects.get(scheme__code="HR", code="H")
    response = admin_client.post(
        f"/admin/grading/schemefield/{field.pk}/change/",
        {
            "scheme": field.scheme_id,
            "code": "H",
            "name": "Keith–Wagener–Barker",
            "position": "0",
            "values-TOTAL_FORMS": "2",
            "values-INITIAL_FORMS": "0",
            "values-0-position": "0",
            "values-0-code": "H0",
            "values-0-label": "None",
            "values-0-key": "0",
            "values-1-position": "1",
            "values-1-code": "H4",
            "values-1-label": "Papilloedema",
            "values-1-key": "4",
            "values-1-referable": "on",
        },
    )
    assert response.status_code == 302
    assert list(SchemeValue.objects.filter(field=field).values_list("code", "referable")) == [
        ("H0", False),
        ("H4", True),
    ]


def test_two_values_of_a_field_cannot_share_a_key(admin_client):
    field = SchemeField.objects.get(scheme__code="DR", code="M")
    data = {
        "scheme": field.scheme_id,
        "code": "M",
        "name": "Maculopathy",
        "position": "1",
        "values-TOTAL_FORMS": "3",
        "values-INITIAL_FORMS": "2",
    }
    for n, value in enumerate(field.values.all()):
        data.update(
            {
                f"values-{n}-id": value.pk,
                f"values-{n}-field": field.pk,
                f"values-{n}-position": value.position,
                f"values-{n}-code": value.code,
                f"values-{n}-label": value.label,
                f"values-{n}-key": value.key,
            }
        )
    data.update(
        {
            "values-2-position": "2",
            "values-2-code": "M2",
            "values-2-label": "x",
            "values-2-key": "1",
        }
    )
    response = admin_client.post(f"/admin/grading/schemefield/{field.pk}/change/", data)
    assert response.status_code == 200
    assert not SchemeValue.objects.filter(code="M2").exists()


# --- programmes and their rules -------------------------------------------------------------------


def test_an_admin_changes_a_programmes_rules(admin_client, dr_programme):
    rules = programme_post(dr_programme)
    rules.update({"rules-0-values": "R3a,R3s", "compare_fields": '["M", "P"]'})
    response = admin_client.post(f"/admin/grading/programme/{dr_programme.pk}/change/", rules)
    assert response.status_code == 302, body(response)
    first = OutcomeRule.objects.filter(programme=dr_programme).first()
    assert first.value_codes == ["R3a", "R3s"]
    assert Programme.objects.get(pk=dr_programme.pk).compare_fields == ["M", "P"]


@pytest.mark.parametrize(
    "rule, message",
    [
        ({"field": "X", "values": "X1"}, "X is not a field of this programme&#x27;s scheme"),
        ({"field": "R", "values": "R2,R9"}, "R9 is not R values; use R0, R1, R2, R3a, R3s, U."),
        ({"field": "R", "values": "M1"}, "M1 is not R values"),
        ({"field": "R", "values": ""}, "Name the R values this rule is about."),
        ({"field": "", "values": "R0"}, "A rule with no field always holds"),
    ],
)
def test_a_rule_must_name_a_field_and_values_of_the_programmes_scheme(
    admin_client, dr_programme, rule, message
):
    data = programme_post(dr_programme)
    data.update({f"rules-0-{k}": v for k, v in rule.items()})
    response = admin_client.post(f"/admin/grading/programme/{dr_programme.pk}/change/", data)
    assert response.status_code == 200
    assert message in body(response)
    assert OutcomeRule.objects.filter(programme=dr_programme).first().values == "R3a"


def test_a_new_programmes_rules_are_checked_against_the_scheme_chosen_with_it(admin_client):
    glaucoma = Scheme.objects.get(code="Glaucoma")
    data = {
        "name": "Glaucoma clinic",
        "scheme": glaucoma.pk,
        "qa_sample_percent": "10",
        "compare_fields": "[]",
        "claim_minutes": "20",
        "rules-TOTAL_FORMS": "2",
        "rules-INITIAL_FORMS": "0",
        "rules-0-position": "0",
        "rules-0-field": "R",
        "rules-0-values": "R2",
        "rules-0-eyes": "any",
        "rules-0-outcome": "refer_soon",
        "rules-1-position": "1",
        "rules-1-field": "",
        "rules-1-values": "",
        "rules-1-eyes": "any",
        "rules-1-outcome": "recall_12",
    }
    response = admin_client.post("/admin/grading/programme/add/", data)
    assert response.status_code == 200 and "use one of G." in body(response)
    data.update({"rules-0-field": "G", "rules-0-values": "G2"})
    assert admin_client.post("/admin/grading/programme/add/", data).status_code == 302
    added = Programme.objects.get(name="Glaucoma clinic")
    assert [r.description for r in added.rules.all()] == [
        "G2 in either eye → Refer to the eye clinic: soon",
        "otherwise → Routine recall in 12 months",
    ]


@pytest.mark.parametrize(
    "compare, message",
    [
        ('["Z"]', "Z: not a field of DR"),
        ('"M"', "Give a list of field codes"),
        ("[1]", "Give a list of field codes"),
        ("{oops", "Enter a valid JSON"),
    ],
)
def test_compare_fields_must_be_a_list_of_the_schemes_field_codes(
    admin_client, dr_programme, compare, message
):
    data = programme_post(dr_programme, compare_fields=compare)
    response = admin_client.post(f"/admin/grading/programme/{dr_programme.pk}/change/", data)
    assert response.status_code == 200 and message in body(response)
    assert Programme.objects.get(pk=dr_programme.pk).compare_fields == []


# --- examinations and gradings: looked at, not made -----------------------------------------------


def test_examinations_are_neither_added_nor_deleted_in_the_admin(admin_client, world):
    exam = examination_of(world, 2)
    assert admin_client.get("/admin/grading/examination/add/").status_code == 403
    assert admin_client.get(f"/admin/grading/examination/{exam.pk}/delete/").status_code == 403


def test_only_an_examinations_programme_is_set_in_the_admin_and_that_is_audited(
    admin_client, world
):
    exam = examination_of(world, 3)
    glaucoma = Programme.objects.get(name="Glaucoma screening")
    response = admin_client.post(
        f"/admin/grading/examination/{exam.pk}/change/",
        {
            "programme": glaucoma.pk,
            "subject_identifier": "SOMEONE-ELSE",
            "stage": "done",
            "gradings-TOTAL_FORMS": "0",
            "gradings-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    exam = Examination.objects.get(pk=exam.pk)
    assert (exam.programme, exam.subject_identifier, exam.stage) == (
        glaucoma,
        "105-10-0989-3",
        "primary",
    )
    event = AuditEvent.objects.get(action="examination.programme_set")
    assert event.data["after"] == {"programme": glaucoma.pk}


def test_the_examination_list_searches_by_subject(admin_client, world):
    examination_of(world, 4, subject="FIND-ME")
    examination_of(world, 5, subject="OTHER-1")
    page = body(admin_client.get("/admin/grading/examination/", {"q": "FIND"}))
    assert "FIND-ME" in page and "OTHER-1" not in page


def test_gradings_are_read_only(admin_client, graders):
    exam = examination_of(graders, 6)
    grading = workflow.record_grading(
        graders.gina,
        exam,
        {"right": {"R": "R0", "M": "M0", "P": "P0"}, "left": {"R": "R0", "M": "M0", "P": "P0"}},
    )
    assert admin_client.get("/admin/grading/examgrading/add/").status_code == 403
    url = f"/admin/grading/examgrading/{grading.pk}/"
    assert admin_client.post(url + "change/", {"outcome": "refer_urgent"}).status_code == 403
    assert admin_client.get(url + "delete/").status_code == 403
    assert ExamGrading.objects.get(pk=grading.pk).outcome == "recall_24"
