"""The dashboard's CSV export: every matching image, streamed, scoped, formula-safe, audited."""

import csv
import io
import re

import pytest
from django.http import StreamingHttpResponse

from fundushub.audit.models import AuditEvent
from fundushub.grading.models import Grade
from fundushub.library import export
from fundushub.store.models import GradingStatus, Image
from tests.checks.results import add_result, all_clear
from tests.conftest import store_image
from tests.library.test_dashboard_page import rows

URL = "/direct/dashboard/export.csv"


def download(client, query=""):
    response = client.get(URL + query)
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    return response, list(csv.DictReader(io.StringIO(text)))


def test_it_sends_an_anonymous_visitor_to_sign_in(client, world):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_it_has_the_documented_columns_and_a_dated_filename(client, world):
    client.force_login(world.alice)
    response, _ = download(client)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="fundus-images-\d{8}-\d{4}\.csv"', response["Content-Disposition"]
    )
    response = client.get(URL)
    header = b"".join(response.streaming_content).decode().splitlines()[0]
    assert header.split(",") == export.COLUMNS
    assert export.COLUMNS[:3] == ["id", "created_at", "source"]
    assert export.COLUMNS[-11:-8] == ["grading_status", "grade_revisions", "edited"]
    assert export.COLUMNS[-8:] == [
        "gradability_verdict",
        "gradability_reason",
        "laterality_verdict",
        "laterality_reason",
        "near_duplicate_verdict",
        "near_duplicate_reason",
        "burned_text_verdict",
        "burned_text_reason",
    ]


def test_a_row_holds_the_images_values(client, world):
    image = store_image(world, 3, mydriatic=True, camera=world.canon, area=world.right)
    Image.objects.filter(pk=image.pk).update(
        edited_sha256="e" * 64, grading_status=GradingStatus.GRADED
    )
    for revision in (1, 2, 3):
        Grade.objects.create(image=image, revision=revision, disease=world.dr, grade="R1")
    image.refresh_from_db()
    client.force_login(world.alice)
    _, lines = download(client)
    assert lines == [
        {
            "id": str(image.pk),
            "created_at": image.created_at.isoformat(),
            "source": "direct",
            "hospital": "St Lucia",
            "lab_unit": "Retina",
            "camera": "Canon CR-2",
            "disease": "DR",
            "area": "Right eye",
            "mydriatic": "yes",
            "subject_identifier": "",
            "original_filename": "fundus-3.jpg",
            "title": "fundus-3.jpg",
            "content_type": "image/jpeg",
            "size": str(image.size),
            "width": "640",
            "height": "480",
            "md5": image.md5,
            "sha256": image.sha256,
            "uploaded_by": "alice",
            "grading_status": "graded",
            "grade_revisions": "3",
            "edited": "yes",
            **{column: "" for column in export.CHECK_COLUMNS},  # not checked
        }
    ]


def test_it_exports_every_matching_image_across_chunks_in_dashboard_order(
    client, world, monkeypatch
):
    monkeypatch.setattr(export, "CHUNK", 7)
    rows(world, 30, disease=world.glaucoma)
    rows(world, 10)
    client.force_login(world.alice)
    _, lines = download(client, f"?disease={world.glaucoma.pk}")
    ids = [line["id"] for line in lines]
    assert len(ids) == len(set(ids)) == 30
    expected = Image.objects.filter(disease=world.glaucoma).order_by("-created_at", "-id")
    assert ids == [str(pk) for pk in expected.values_list("pk", flat=True)]
    assert {line["disease"] for line in lines} == {"Glaucoma"}


def test_images_with_the_same_time_are_all_exported_once(client, world, monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(export, "CHUNK", 4)
    rows(world, 13, when=timezone.now())
    client.force_login(world.alice)
    _, lines = download(client)
    assert len({line["id"] for line in lines}) == len(lines) == 13


def test_it_exports_only_what_the_user_may_see(client, world):
    mine = rows(world, 2)
    rows(world, 3, user="bob", lab_unit=world.outpatients)
    client.force_login(world.alice)
    _, lines = download(client)
    assert {line["id"] for line in lines} == {str(r.pk) for r in mine}
    client.force_login(world.bob)
    _, lines = download(client, f"?hospital={world.st_lucia.pk}")
    assert lines == []


def test_a_data_manager_exports_nothing_of_another_lab_unit_of_the_same_hospital(
    client, world, same_hospital_other_unit_user
):
    rows(world, 3)  # Retina, St Lucia
    screening = rows(world, 1, user="mary", lab_unit=world.screening)
    client.force_login(same_hospital_other_unit_user)
    _, lines = download(client, f"?hospital={world.st_lucia.pk}")
    assert [line["id"] for line in lines] == [str(screening[0].pk)]


def test_an_uploader_cannot_export_by_uploader(client, world):
    rows(world, 2)
    rows(world, 2, user="mary")
    client.force_login(world.alice)
    _, lines = download(client, f"?uploader={world.mary.pk}")
    assert len(lines) == 4
    client.force_login(world.mary)
    _, lines = download(client, f"?uploader={world.mary.pk}")
    assert len(lines) == 2 and {line["uploaded_by"] for line in lines} == {"mary"}


def test_empty_values_are_empty_cells(client, world):
    rows(world, 1, user=None, camera=None, disease=None, area=None)
    client.force_login(world.alice)
    _, (line,) = download(client)
    assert (line["camera"], line["disease"], line["area"], line["uploaded_by"]) == ("", "", "", "")
    assert (line["mydriatic"], line["edited"], line["grade_revisions"]) == ("no", "no", "0")


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd"])
def test_a_cell_that_a_spreadsheet_would_run_is_defused(client, world, name):
    rows(world, 1, original_filename=name, subject_identifier="=1+1")
    client.force_login(world.alice)
    _, (line,) = download(client)
    assert line["original_filename"] == "'" + name
    assert line["subject_identifier"] == "'=1+1"


@pytest.mark.parametrize(
    "text",
    [
        '\uff1dHYPERLINK("http://x")',  # full-width equals sign
        "\ufe66SUM(A1)",  # small equals sign
        "\uff0b1+1",  # full-width plus
        "\ufe63 2+3",  # small hyphen-minus
        "\uff20SUM(A1)",  # full-width commercial at
        "\rcmd",
        "  =1+1",  # spaces a spreadsheet skips before the formula
    ],
)
def test_compatibility_forms_of_formula_characters_are_defused_too(text):
    assert export.safe(text) == "'" + text


def test_ordinary_cells_are_left_alone():
    assert export.safe("fundus 1.jpg") == "fundus 1.jpg"
    assert export.safe("a=b") == "a=b"
    assert export.safe(None) == "" and export.safe(True) == "yes" and export.safe(3) == "3"


def test_it_audits_one_export_with_the_filters_and_the_count(client, world):
    rows(world, 3, disease=world.glaucoma)
    rows(world, 2)
    client.force_login(world.alice)
    download(client, f"?disease={world.glaucoma.pk}&source=direct&grading=any&show=edited")
    (event,) = AuditEvent.objects.filter(action="images.exported")
    assert event.user == world.alice
    assert event.data == {
        "filters": {"disease": str(world.glaucoma.pk), "source": "direct"},
        "count": 3,
    }


@pytest.mark.parametrize(
    "query, message",
    [
        ("date_from=soon", "Date from: “soon” is not valid"),
        ("camera=x", "Camera: “x” is not valid"),
    ],
)
def test_an_invalid_filter_exports_nothing_and_says_why(client, world, query, message):
    rows(world, 2)
    client.force_login(world.alice)
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AuditEvent.objects.filter(action="images.exported").exists()


def test_the_export_reads_in_a_fixed_number_of_queries_per_chunk(
    client, world, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(export, "CHUNK", 10)
    rows(world, 25)
    client.force_login(world.alice)
    # session, user, count, audit insert; then per chunk: rows, revision counts and checks.
    for image in Image.objects.all():
        all_clear(image)
    with django_assert_num_queries(4 + 3 * 3):
        download(client)


# --- checks at capture (issue 15) ---


def test_each_image_carries_each_checks_verdict_and_reason(client, world):
    flagged, clear, unchecked = store_image(world, 1), store_image(world, 2), store_image(world, 3)
    add_result(flagged, "gradability", "ungradable", "looks blurred; too dark", True)
    add_result(flagged, "burned_text", "flag", "possible patient data", True)
    add_result(flagged, "vessels", "flag", "not a column of the export", True)
    all_clear(clear)
    client.force_login(world.alice)
    _, got = download(client)
    by_id = {row["id"]: row for row in got}
    row = by_id[str(flagged.pk)]
    assert (row["gradability_verdict"], row["gradability_reason"]) == (
        "ungradable",
        "looks blurred; too dark",
    )
    assert (row["burned_text_verdict"], row["burned_text_reason"]) == (
        "flag",
        "possible patient data",
    )
    assert row["laterality_verdict"] == row["laterality_reason"] == ""  # not checked
    assert "vessels_verdict" not in row
    row = by_id[str(clear.pk)]
    assert [row[f"{name}_verdict"] for name in ("gradability", "laterality")] == ["good", "pass"]
    assert all(by_id[str(unchecked.pk)][column] == "" for column in export.CHECK_COLUMNS)


def test_a_checks_reason_that_a_spreadsheet_would_run_is_defused(client, world):
    image = store_image(world, 1)
    add_result(image, "laterality", "flag", '=HYPERLINK("http://x")', True)
    client.force_login(world.alice)
    _, (row,) = download(client)
    assert row["laterality_reason"] == '\'=HYPERLINK("http://x")'
