"""The Direct Upload Dashboard: filters, KPI cards, the grid, keyset pages, scope, query counts."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from fundushub.grading.models import Grade
from fundushub.library import keyset
from fundushub.store.models import GradingStatus, Image
from tests.conftest import store_image

URL = "/direct/dashboard"
_n = 0


def rows(world, count=1, *, when=None, user="alice", lab_unit=None, **fields):
    """Bulk-created image rows (no blobs: the page never opens them), newest first by default."""
    global _n
    lab_unit = lab_unit or world.retina
    values = {"camera": world.topcon, "disease": world.dr, "area": world.left, **fields}
    name = values.pop("original_filename", None)
    base = when or timezone.now()
    made = []
    for i in range(count):
        _n += 1
        made.append(
            Image(
                created_at=base if when else base - timedelta(seconds=i),
                uploaded_by=getattr(world, user) if user else None,
                hospital_id=lab_unit.hospital_id,
                lab_unit=lab_unit,
                original_filename=name or f"img-{_n}.jpg",
                content_type="image/jpeg",
                size=1000,
                width=640,
                height=480,
                md5=f"{_n:032x}",
                sha256=f"{_n:064x}",
                **values,
            )
        )
    field = Image._meta.get_field("created_at")
    field.auto_now_add = False
    try:
        Image.objects.bulk_create(made)
    finally:
        field.auto_now_add = True
    return made


def get(client, query=""):
    response = client.get(URL + query)
    assert response.status_code == 200
    return response


def card_ids(response) -> list[str]:
    return re.findall(
        r'<li class="thumb-card[^"]*" data-id="([0-9a-f-]+)"', response.content.decode()
    )


def kpi(response):
    return response.context["kpis"]


def breakdown(response, title):
    b = next(b for b in kpi(response).breakdowns if b.title == title)
    return [(e.name, e.count) for e in b.top], (b.rest_kinds, b.rest_count)


# Access -----------------------------------------------------------------------------------


def test_it_sends_an_anonymous_visitor_to_sign_in(client, world):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_refuses_a_post(client, world):
    client.force_login(world.alice)
    assert client.post(URL).status_code == 405


def test_it_shows_a_link_to_direct_upload_when_there_are_no_images(client, world):
    client.force_login(world.alice)
    text = get(client).content.decode()
    assert "No images yet." in text and 'href="/direct/upload"' in text
    assert 'id="bulk-form"' not in text


def test_it_says_nothing_matches_the_filters_and_offers_to_clear_them(client, world):
    rows(world, 2)
    client.force_login(world.alice)
    text = get(client, f"?disease={world.glaucoma.pk}").content.decode()
    assert "No image matches these filters." in text
    assert 'href="/direct/dashboard">Clear filters</a>' in text


# Scope ------------------------------------------------------------------------------------


def test_an_uploader_sees_their_lab_units_images_and_their_own_uploads_elsewhere(client, world):
    mine_elsewhere = rows(world, 1, lab_unit=world.outpatients)[0]
    colleague = rows(world, 1, user="mary")[0]
    other_unit = rows(world, 1, user="mary", lab_unit=world.screening)[0]
    other_hospital = rows(world, 1, user="bob", lab_unit=world.outpatients)[0]
    client.force_login(world.alice)
    ids = card_ids(get(client))
    assert set(ids) == {str(mine_elsewhere.pk), str(colleague.pk)}
    assert str(other_unit.pk) not in ids and str(other_hospital.pk) not in ids


def test_a_data_manager_sees_every_image_of_their_lab_units(client, world):
    retina = rows(world, 1)[0]
    screening = rows(world, 1, user="mary", lab_unit=world.screening)[0]
    rows(world, 1, user="bob", lab_unit=world.outpatients)
    client.force_login(world.mary)
    response = get(client)
    assert set(card_ids(response)) == {str(retina.pk), str(screening.pk)}
    assert kpi(response).total == 2


def test_an_admin_sees_their_assigned_lab_units_only(client, world):
    rows(world, 1)
    outpatients = rows(world, 1, user="bob", lab_unit=world.outpatients)[0]
    client.force_login(world.root)
    assert card_ids(get(client)) == [str(outpatients.pk)]


def test_a_data_manager_sees_nothing_of_another_lab_unit_of_the_same_hospital(
    client, world, same_hospital_other_unit_user
):
    rows(world, 2)  # Retina, St Lucia
    screening = rows(world, 1, user="mary", lab_unit=world.screening)[0]
    client.force_login(same_hospital_other_unit_user)
    response = get(client, f"?hospital={world.st_lucia.pk}")
    assert card_ids(response) == [str(screening.pk)] and kpi(response).total == 1
    response = get(client, f"?lab_unit={world.retina.pk}")
    assert card_ids(response) == [] and kpi(response).total == 0


def test_a_grader_sees_their_lab_units_images_without_edit_links(client, world):
    image = rows(world, 1)[0]
    rows(world, 1, user="bob", lab_unit=world.outpatients)
    client.force_login(world.gina)
    response = get(client)
    assert card_ids(response) == [str(image.pk)]
    text = response.content.decode()
    assert f"/direct/images/{image.pk}/edit" not in text
    assert f"/direct/images/{image.pk}/editor" not in text


def test_a_hospital_filter_naming_a_hospital_out_of_scope_shows_nothing_from_it(client, world):
    rows(world, 2)
    rows(world, 3, user="bob", lab_unit=world.outpatients)
    client.force_login(world.alice)
    response = get(client, f"?hospital={world.northgate.pk}")
    assert card_ids(response) == [] and kpi(response).total == 0
    response = get(client, f"?lab_unit={world.outpatients.pk}")
    assert card_ids(response) == [] and kpi(response).total == 0


def test_the_hospital_and_lab_unit_options_are_those_of_the_users_lab_units(client, world):
    client.force_login(world.alice)
    options = get(client).context["options"]
    assert [h["name"] for h in options.hospitals] == ["St Lucia"]
    assert [u["name"] for u in options.hospitals[0]["lab_units"]] == ["Retina"]


# Filters ----------------------------------------------------------------------------------


def test_it_filters_by_dates_inclusively_in_the_site_time_zone(client, world, settings):
    settings.TIME_ZONE = "Australia/Brisbane"  # UTC+10, no daylight saving
    utc = UTC
    # 2026-03-01 00:30 in Brisbane is 2026-02-28 14:30 UTC.
    early = rows(world, 1, when=datetime(2026, 2, 28, 14, 30, tzinfo=utc))[0]
    late = rows(world, 1, when=datetime(2026, 3, 2, 13, 59, tzinfo=utc))[0]  # 23:59 on 2 March
    rows(world, 1, when=datetime(2026, 2, 28, 13, 59, tzinfo=utc))  # 23:59 on 28 Feb, local
    rows(world, 1, when=datetime(2026, 3, 2, 14, 0, tzinfo=utc))  # 00:00 on 3 March, local
    client.force_login(world.alice)
    response = get(client, "?date_from=2026-03-01&date_to=2026-03-02")
    assert card_ids(response) == [str(late.pk), str(early.pk)]
    assert kpi(response).total == 2
    assert len(card_ids(get(client, "?date_from=2026-03-01"))) == 3
    assert len(card_ids(get(client, "?date_to=2026-02-28"))) == 1


def test_date_range_kpis_add_whole_utc_days_and_the_part_days_at_its_ends(client, world, settings):
    settings.TIME_ZONE = "Australia/Brisbane"  # local midnight is 14:00 UTC the day before
    # 1–10 March local: UTC 28 Feb 14:00 to 10 Mar 14:00, so whole UTC days 1–9 March and two
    # part-days, each with an image at its very start and end.
    inside = [(2, 28, 14, 0), (2, 28, 23, 59), (3, 1, 0, 0), (3, 5, 12, 0), (3, 9, 23, 59)]
    inside.append((3, 10, 13, 59))
    for month, day, hour, minute in inside:
        rows(world, 1, when=datetime(2026, month, day, hour, minute, tzinfo=UTC))
    rows(world, 1, when=datetime(2026, 2, 28, 13, 59, tzinfo=UTC), area=world.right)
    rows(world, 1, when=datetime(2026, 3, 10, 14, 0, tzinfo=UTC), area=None)
    client.force_login(world.alice)
    response = get(client, "?date_from=2026-03-01&date_to=2026-03-10")
    assert kpi(response).total == 6 == len(card_ids(response))
    assert breakdown(response, "Areas") == ([("Left eye", 6)], (0, 0))
    assert breakdown(get(client, "?date_from=2026-03-01"), "Areas") == (
        [("Left eye", 6), ("Not set", 1)],
        (0, 0),
    )
    assert breakdown(get(client, "?date_to=2026-03-10"), "Areas") == (
        [("Left eye", 6), ("Right eye", 1)],
        (0, 0),
    )
    assert kpi(get(client, "?date_from=2026-03-11")).total == 1  # 10 March 14:00 UTC


def test_date_range_kpis_add_whole_months_the_days_around_them_and_the_part_days(
    client, world, settings
):
    settings.TIME_ZONE = "Australia/Brisbane"
    # 15 January – 10 April local: part-day 14 Jan 14:00–24:00 UTC, days 15–31 Jan, months
    # February and March, days 1–9 April, part-day 10 April 00:00–14:00 UTC.
    inside = [(1, 14, 14, 0), (1, 20, 9, 0), (2, 10, 9, 0), (3, 31, 23, 59), (4, 1, 0, 0)]
    inside.append((4, 10, 13, 59))
    for month, day, hour, minute in inside:
        rows(world, 1, when=datetime(2026, month, day, hour, minute, tzinfo=UTC))
    rows(world, 1, when=datetime(2026, 1, 14, 13, 59, tzinfo=UTC), area=world.right)
    rows(world, 1, when=datetime(2026, 4, 10, 14, 0, tzinfo=UTC), area=None)
    rows(world, 2, when=datetime(2025, 12, 1, tzinfo=UTC), area=world.right)
    client.force_login(world.alice)
    assert kpi(get(client, "?date_from=2026-01-15&date_to=2026-04-10")).total == 6
    assert breakdown(get(client, "?date_from=2026-01-15"), "Areas") == (
        [("Left eye", 6), ("Not set", 1)],
        (0, 0),
    )
    assert breakdown(get(client, "?date_to=2026-04-10"), "Areas") == (
        [("Left eye", 6), ("Right eye", 3)],
        (0, 0),
    )
    assert kpi(get(client, "?date_from=2026-02-01&date_to=2026-04-01")).total == 3


@pytest.mark.parametrize("zone", ["UTC", "Australia/Brisbane", "America/St_Johns"])
def test_date_range_kpis_equal_a_count_of_the_images_in_any_time_zone(
    client, world, settings, zone
):
    from fundushub.library.dashboard import filtered_images, parse_filters

    settings.TIME_ZONE = zone  # St John's: UTC-3:30, with daylight saving
    start = datetime(2026, 1, 27, tzinfo=UTC)
    for hours in range(0, 24 * 70, 7):  # every 7 hours over ten weeks
        rows(world, 1, when=start + timedelta(hours=hours))
    client.force_login(world.alice)
    days = ["2026-01-27", "2026-01-31", "2026-02-01", "2026-02-28", "2026-03-01", "2026-03-15"]
    for i, date_from in enumerate(days):
        for date_to in days[i:]:
            query = {"date_from": date_from, "date_to": date_to}
            want = filtered_images(world.alice, parse_filters(world.alice, query)).count()
            got = kpi(get(client, f"?date_from={date_from}&date_to={date_to}")).total
            assert got == want > 0, (date_from, date_to)


@pytest.mark.parametrize("query", ["", "&date_from=2020-01-01", "&date_from=2020-01-03"])
def test_the_kpis_are_summed_from_the_image_counts_not_counted_from_the_images(
    client, world, query
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows(world, 3)
    client.force_login(world.alice)
    with CaptureQueriesContext(connection) as ctx:
        assert kpi(get(client, f"?disease={world.dr.pk}{query}")).total == 3
    sql = [q["sql"] for q in ctx.captured_queries]
    (kpi_sql,) = [s for s in sql if "GROUP BY" in s and '"area_id"' in s]
    assert "imagecount" in kpi_sql and "COUNT(*)" not in kpi_sql, kpi_sql


@pytest.mark.parametrize(
    "name", ["hospital", "lab_unit", "camera", "disease", "area", "grading", "source"]
)
def test_each_filter_selects_exactly_its_images(client, world, name):
    wanted = {
        "hospital": ({"lab_unit": world.screening, "user": "mary"}, world.st_lucia.pk),
        "lab_unit": ({"lab_unit": world.screening, "user": "mary"}, world.screening.pk),
        "camera": ({"camera": world.canon}, world.canon.pk),
        "disease": ({"disease": world.glaucoma}, world.glaucoma.pk),
        "area": ({"area": world.right}, world.right.pk),
        "grading": ({"grading_status": GradingStatus.PRE_GRADED}, "pre_graded"),
        "source": ({"source": Image.Source.CAMERA, "subject_identifier": "S-1"}, "camera"),
    }
    fields, value = wanted[name]
    match = {str(r.pk) for r in rows(world, 2, **fields)}
    # The rest differ in exactly this one field (other hospital for the hospital filter).
    other = {"lab_unit": world.outpatients, "user": "mary"} if name == "hospital" else {}
    rows(world, 3, **other)
    world.mary.lab_units.add(world.outpatients)
    client.force_login(world.mary)
    response = get(client, f"?{name}={value}")
    assert set(card_ids(response)) == match
    assert kpi(response).total == 2
    assert len(card_ids(get(client))) == 5


def test_the_not_set_choice_finds_images_without_a_camera_disease_or_area(client, world):
    bare = rows(world, 1, camera=None, disease=None, area=None)[0]
    rows(world, 2)
    client.force_login(world.alice)
    for name in ("camera", "disease", "area"):
        assert card_ids(get(client, f"?{name}=none")) == [str(bare.pk)]


def test_the_uploader_filter_works_for_data_managers(client, world):
    alices = {str(r.pk) for r in rows(world, 2)}
    rows(world, 3, user="mary")
    client.force_login(world.mary)
    response = get(client, f"?uploader={world.alice.pk}")
    assert set(card_ids(response)) == alices
    assert 'id="f-uploader"' in response.content.decode()
    usernames = [name for _, name in response.context["options"].uploaders]
    assert "alice" in usernames and "gina" in usernames and "bob" not in usernames


def test_the_uploader_filter_is_neither_shown_to_nor_honoured_for_uploaders(client, world):
    rows(world, 2)
    rows(world, 3, user="mary")
    client.force_login(world.alice)
    response = get(client, f"?uploader={world.mary.pk}")
    assert len(card_ids(response)) == 5 and kpi(response).total == 5
    assert 'id="f-uploader"' not in response.content.decode()
    assert response.context["filters"].errors == []


def test_filters_combine(client, world):
    target = rows(world, 1, disease=world.glaucoma, area=world.right, camera=world.canon)[0]
    rows(world, 1, disease=world.glaucoma, area=world.right)
    rows(world, 1, disease=world.glaucoma, camera=world.canon)
    client.force_login(world.alice)
    q = f"?disease={world.glaucoma.pk}&area={world.right.pk}&camera={world.canon.pk}&source=direct&grading=ungraded"
    assert card_ids(get(client, q)) == [str(target.pk)]


def test_any_is_the_same_as_no_grading_or_source_filter(client, world):
    rows(world, 2)
    client.force_login(world.alice)
    response = get(client, "?grading=any&source=any")
    assert len(card_ids(response)) == 2 and not response.context["filters"].active


@pytest.mark.parametrize(
    "query, message",
    [
        ("date_from=yesterday", "Date from: “yesterday” is not valid (enter a date as YYYY-MM-DD)"),
        ("date_to=2026-02-30", "Date to: “2026-02-30” is not valid"),
        ("date_to=9999-12-31", "Date to: “9999-12-31” is not valid"),
        ("hospital=abc", "Hospital: “abc” is not valid (choose one from the list)"),
        ("lab_unit=-3", "Lab unit: “-3” is not valid"),
        ("camera=1.5", "Camera: “1.5” is not valid"),
        ("disease=DR", "Disease: “DR” is not valid"),
        ("area=left", "Area: “left” is not valid"),
        (
            "grading=done",
            "Pre-graded status: “done” is not valid (choose ungraded, pre-graded or graded)",
        ),
        ("source=email", "Source: “email” is not valid (choose direct or camera)"),
        ("date_from=2026-03-02&date_to=2026-03-01", "“Date from” is after “Date to”"),
    ],
)
def test_an_invalid_filter_value_is_reported_and_ignored(client, world, query, message):
    rows(world, 2)
    client.force_login(world.mary)
    response = get(client, "?" + query)
    errors = response.context["filters"].errors
    assert len(errors) == 1 and errors[0].startswith(message)
    assert 'role="alert" id="filter-errors"' in response.content.decode()
    assert len(card_ids(response)) == 2  # the bad value is left out, the page still works


def test_an_uploader_value_that_is_not_a_number_is_reported_to_a_data_manager(client, world):
    client.force_login(world.mary)
    errors = get(client, "?uploader=alice").context["filters"].errors
    assert errors == ["Uploader: “alice” is not valid (choose one from the list); it was ignored."]


def test_the_form_keeps_the_chosen_filters(client, world):
    client.force_login(world.alice)
    text = get(
        client, f"?disease={world.glaucoma.pk}&date_from=2026-01-05&source=camera"
    ).content.decode()
    assert f'<option value="{world.glaucoma.pk}" selected>' in text
    assert 'name="date_from" value="2026-01-05"' in text
    assert '<option value="camera" selected>' in text


# KPIs -------------------------------------------------------------------------------------


def test_the_kpis_count_the_filtered_set_with_top_three_and_the_rest(client, world):
    amd = type(world.dr).objects.get(code="AMD")
    both = type(world.left).objects.get(code="both")
    third = type(world.topcon).objects.create(name="Zeiss")
    fourth = type(world.topcon).objects.create(name="Optos")
    rows(world, 5, camera=world.topcon, disease=world.dr, area=world.left)
    rows(world, 3, camera=world.canon, disease=world.glaucoma, area=world.right)
    rows(world, 2, camera=third, disease=amd, area=both)
    rows(world, 1, camera=fourth, disease=None, area=None)
    rows(world, 1, camera=None, disease=world.dr, area=world.left)
    rows(world, 4, user="bob", lab_unit=world.outpatients)  # out of scope: not counted
    client.force_login(world.alice)
    response = get(client)
    assert kpi(response).total == 12
    assert breakdown(response, "Cameras") == (
        [("Topcon TRC-NW400", 5), ("Canon CR-2", 3), ("Zeiss", 2)],
        (2, 2),  # Optos 1 and Not set 1
    )
    assert breakdown(response, "Diseases") == ([("DR", 6), ("Glaucoma", 3), ("AMD", 2)], (1, 1))
    assert breakdown(response, "Areas") == (
        [("Left eye", 6), ("Right eye", 3), ("Both eyes", 2)],
        (1, 1),
    )
    text = response.content.decode()
    assert 'id="kpi-total">12<' in text and "Other (+2 more)" in text and "Not set" in text


def test_the_kpis_follow_the_filters(client, world):
    rows(world, 5, disease=world.dr)
    rows(world, 3, disease=world.glaucoma, area=world.right)
    client.force_login(world.alice)
    response = get(client, f"?disease={world.glaucoma.pk}")
    assert kpi(response).total == 3
    assert breakdown(response, "Areas") == ([("Right eye", 3)], (0, 0))
    assert breakdown(response, "Diseases") == ([("Glaucoma", 3)], (0, 0))


def test_images_without_a_value_count_as_not_set(client, world):
    rows(world, 2, camera=None, disease=None, area=None)
    client.force_login(world.alice)
    response = get(client)
    for title in ("Cameras", "Diseases", "Areas"):
        assert breakdown(response, title) == ([("Not set", 2)], (0, 0))


def test_the_kpis_of_an_empty_set_are_zero(client, world):
    client.force_login(world.alice)
    response = get(client)
    assert kpi(response).total == 0
    assert all(b.top == [] for b in kpi(response).breakdowns)


# The grid ---------------------------------------------------------------------------------


def test_a_card_shows_the_images_metadata_and_links(client, world):
    image = store_image(world, 1, mydriatic=True, camera=world.canon, area=world.right)
    Grade.objects.create(
        image=image, revision=1, disease=world.dr, grade="R1", graded_by=world.gina
    )
    Grade.objects.create(
        image=image, revision=2, disease=world.dr, grade="R2", graded_by=world.gina
    )
    client.force_login(world.alice)
    text = get(client).content.decode()
    local = timezone.localtime(image.created_at).strftime("%Y-%m-%d %H:%M")
    for piece in (
        f'src="/images/{image.id}/thumbnail"',
        'loading="lazy"',
        'alt="fundus image fundus-1.jpg"',
        f'href="/direct/images/{image.id}"',
        "fundus-1.jpg",
        local,
        "<dt>Site</dt><dd>St Lucia · Retina</dd>",
        "<dt>Camera</dt><dd>Canon CR-2</dd>",
        "<dt>Disease</dt><dd>DR</dd>",
        "<dt>Area</dt><dd>Right eye</dd>",
        "<dt>Mydriatic</dt><dd>Yes</dd>",
        ">2 revisions<",
        "badge badge-ungraded",
        ">Direct<",
        f'name="images" value="{image.id}"',
        f'href="/direct/images/{image.id}/edit?next=/direct/dashboard"',
        f'href="/direct/images/{image.id}/editor?next=/direct/dashboard"',
    ):
        assert piece in text, piece


def test_a_camera_image_card_shows_the_eye_and_the_subject(client, world):
    rows(
        world,
        1,
        user=None,
        source=Image.Source.CAMERA,
        subject_identifier="SUBJ-0042",
        area=world.right,
        mydriatic=False,
    )
    client.force_login(world.alice)
    text = get(client).content.decode()
    assert "<dt>Eye</dt><dd>Right eye · subject SUBJ-0042</dd>" in text and ">Camera<" in text
    assert "<dt>Mydriatic</dt><dd>No</dd>" in text and ">0 revisions<" in text


def test_a_locked_image_has_no_edit_image_link_but_keeps_its_metadata_edit(client, world):
    image = rows(world, 1, grading_status=GradingStatus.GRADED)[0]
    client.force_login(world.alice)
    text = get(client).content.decode()
    assert f"/direct/images/{image.pk}/edit?" in text
    assert f"/direct/images/{image.pk}/editor" not in text
    assert "badge badge-graded" in text


def test_an_uploader_may_manage_only_their_own_images(client, world):
    theirs = rows(world, 1, user="mary")[0]
    mine = rows(world, 1)[0]
    client.force_login(world.alice)
    text = get(client).content.decode()
    assert f"/direct/images/{mine.pk}/edit?" in text
    assert f"/direct/images/{theirs.pk}/edit" not in text


def test_the_grid_sits_in_the_bulk_form_with_next_and_both_buttons(client, world):
    rows(world, 2)
    client.force_login(world.alice)
    text = get(client, f"?disease={world.dr.pk}").content.decode()
    assert '<form id="bulk-form" method="post" action="/direct/images/bulk">' in text
    assert 'name="csrfmiddlewaretoken"' in text
    assert (
        f'<input type="hidden" name="next" value="/direct/dashboard?disease={world.dr.pk}">' in text
    )
    assert 'name="action" value="edit" data-bulk>Edit Selected<' in text
    assert 'name="action" value="delete" data-bulk>Delete Selected<' in text
    assert 'id="select-all"' in text and 'id="selected-count"' in text


def edited(world, **fields):
    image = rows(world, 1, **fields)[0]
    Image.objects.filter(pk=image.pk).update(edited_sha256="e" * 64, edited_at=timezone.now())
    return image


def test_show_edited_uses_the_edited_thumbnail_where_one_exists(client, world):
    with_edit = edited(world)
    without = rows(world, 1)[0]
    client.force_login(world.alice)
    text = get(client, "?show=edited").content.decode()
    assert f'src="/images/{with_edit.pk}/thumbnail?variant=edited"' in text
    # The viewer opened from here shows the edited version too (show=edited travels along).
    assert f'href="/direct/images/{with_edit.pk}?show=edited"' in text
    assert f'src="/images/{without.pk}/thumbnail"' in text
    assert 'aria-current="true">Edited<' in text


def test_show_original_is_the_default_and_edited_cards_get_their_own_toggle(client, world):
    with_edit = edited(world)
    client.force_login(world.alice)
    text = get(client).content.decode()
    assert f'src="/images/{with_edit.pk}/thumbnail"' in text
    assert f'data-edited="/images/{with_edit.pk}/thumbnail?variant=edited"' in text
    assert 'class="card-toggle"' in text and 'class="badge badge-edited"' in text
    assert 'aria-current="true">Original<' in text


def test_the_show_switch_keeps_the_filters(client, world):
    rows(world, 1)
    client.force_login(world.alice)
    links = get(client, f"?disease={world.dr.pk}").context["links"]
    assert links["show_edited"] == f"?disease={world.dr.pk}&show=edited"
    links = get(client, f"?disease={world.dr.pk}&show=edited").context["links"]
    assert links["show_original"] == f"?disease={world.dr.pk}"
    assert links["export"] == f"?disease={world.dr.pk}"


def test_the_show_switch_stays_on_the_page_the_user_is_on(client, world):
    rows(world, 30)
    client.force_login(world.alice)
    second = get(client, "?per_page=24").context["links"]["older"]
    response = get(client, second)
    links = response.context["links"]
    cursor = second.split("cursor=")[1]
    assert links["show_edited"] == f"?per_page=24&show=edited&cursor={cursor}"
    assert card_ids(get(client, links["show_edited"])) == card_ids(response)
    assert get(client, "?per_page=24").context["links"]["show_edited"] == "?per_page=24&show=edited"


# Pages ------------------------------------------------------------------------------------


def walk(client, query=""):
    """Follow "Older" links from the first page; returns the pages' ids."""
    pages, response = [], get(client, query)
    while True:
        pages.append(card_ids(response))
        older = response.context["links"]["older"]
        if not older:
            return pages, response
        response = get(client, older)


def test_older_pages_neither_overlap_nor_skip_even_with_identical_times(client, world):
    same = timezone.now() - timedelta(days=1)
    made = rows(world, 30, when=same) + rows(world, 25)
    client.force_login(world.alice)
    pages, _ = walk(client, "?per_page=24")
    assert [len(p) for p in pages] == [24, 24, 7]
    seen = [i for p in pages for i in p]
    assert len(seen) == len(set(seen)) == 55
    assert set(seen) == {str(r.pk) for r in made}
    expected = [str(r.pk) for r in Image.objects.order_by("-created_at", "-id")]
    assert seen == expected


def test_newer_links_go_back_through_the_same_pages(client, world):
    rows(world, 30, when=timezone.now() - timedelta(hours=1))
    rows(world, 40)
    client.force_login(world.alice)
    pages, last = walk(client, "?per_page=24")
    back, response = [card_ids(last)], last
    while response.context["links"]["newer"]:
        response = get(client, response.context["links"]["newer"])
        back.append(card_ids(response))
    assert back[::-1] == pages
    assert response.context["page"].newer is None  # the first page has no "Newer"


def test_pages_keep_the_filters(client, world):
    rows(world, 30, disease=world.glaucoma)
    rows(world, 30)
    client.force_login(world.alice)
    pages, _ = walk(client, f"?disease={world.glaucoma.pk}&per_page=24")
    assert sum(len(p) for p in pages) == 30
    response = get(client, f"?disease={world.glaucoma.pk}&per_page=24")
    assert response.context["links"]["older"].startswith(
        f"?disease={world.glaucoma.pk}&per_page=24&cursor="
    )


def test_a_short_newer_page_is_the_first_page(client, world):
    rows(world, 30)
    client.force_login(world.alice)
    newest = Image.objects.order_by("-created_at", "-id")
    key = keyset.encode(newest[5].created_at, newest[5].pk)
    response = get(client, f"?per_page=24&before={key}")
    assert len(card_ids(response)) == 24 and response.context["page"].newer is None


def _token(raw: str) -> str:
    import base64

    return base64.urlsafe_b64encode(raw.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "%FF",
        _token("not-a-cursor"),
        _token("2026-01-01|not-a-uuid"),
        _token(f"2026-01-01T00:00:00|{uuid.UUID(int=1)}"),  # no time zone
        _token(f"0001-01-01T00:00:00+14:00|{uuid.UUID(int=1)}"),  # before year 1 in UTC
    ],
)
def test_an_invalid_cursor_gives_the_first_page_and_says_so(client, world, cursor):
    rows(world, 3)
    client.force_login(world.alice)
    for name in ("cursor", "before"):
        response = get(client, f"?{name}={cursor}")
        assert len(card_ids(response)) == 3
        assert "That page link is not valid" in response.content.decode()


def test_a_cursor_past_the_end_shows_an_empty_page_with_a_way_back(client, world):
    rows(world, 3)
    client.force_login(world.alice)
    key = keyset.encode(timezone.now() - timedelta(days=3650), uuid.uuid4())
    text = get(client, f"?cursor={key}").content.decode()
    assert "Nothing on this page." in text


def test_the_cursor_round_trips_and_is_opaque(world):
    when = timezone.now()
    pk = uuid.uuid4()
    token = keyset.encode(when, pk)
    assert str(pk) not in token and "|" not in token
    assert keyset.decode(token) == (when, pk)
    with pytest.raises(keyset.InvalidCursor):
        keyset.decode(keyset.encode(when, pk)[:-6])


def test_per_page_accepts_only_its_choices(client, world):
    rows(world, 30)
    client.force_login(world.alice)
    assert len(card_ids(get(client, "?per_page=24"))) == 24
    assert len(card_ids(get(client, "?per_page=5"))) == 30
    assert len(card_ids(get(client, "?per_page=lots"))) == 30


# Queries ----------------------------------------------------------------------------------

# session, user, the layout's role look-ups (4), lab units, cameras, diseases, areas, KPI group,
# the page, its revision counts.
UPLOADER_QUERIES = 13


def test_the_first_page_costs_a_fixed_number_of_queries_whatever_the_data(
    client, world, django_assert_num_queries
):
    client.force_login(world.alice)
    rows(world, 3)
    with django_assert_num_queries(UPLOADER_QUERIES):
        get(client)
    many = rows(world, 60, disease=world.glaucoma, camera=world.canon)
    for image in many[:20]:
        Grade.objects.create(image=image, revision=1, disease=world.glaucoma, grade="mild")
    Image.objects.filter(pk__in=[i.pk for i in many[:10]]).update(edited_sha256="e" * 64)
    with django_assert_num_queries(UPLOADER_QUERIES):
        get(client, "?per_page=96")
    with django_assert_num_queries(UPLOADER_QUERIES):
        response = get(client, "?per_page=24")
    with django_assert_num_queries(UPLOADER_QUERIES):
        get(client, response.context["links"]["older"])
    with django_assert_num_queries(UPLOADER_QUERIES):
        get(client, f"?disease={world.glaucoma.pk}&date_from=2020-01-01&show=edited")


def test_a_data_manager_page_adds_only_the_uploader_options(
    client, world, django_assert_num_queries
):
    rows(world, 30)
    client.force_login(world.mary)
    with django_assert_num_queries(UPLOADER_QUERIES + 1):
        get(client, f"?uploader={world.alice.pk}")


def test_the_dashboards_scope_is_exactly_the_visible_images_for_every_role(
    world, same_hospital_other_unit_user
):
    from fundushub.library.dashboard import scoped_images
    from fundushub.store.models import Image

    rows(world, 2)
    rows(world, 2, user="mary", lab_unit=world.screening)
    rows(world, 2, user="bob", lab_unit=world.outpatients)
    rows(world, 1, lab_unit=world.outpatients)  # alice's own, outside her lab units
    rows(world, 1, user=None, lab_unit=world.screening)  # a camera image, no uploader
    for user in (world.alice, world.bob, world.mary, world.root, world.gina, world.sam):
        assert set(scoped_images(user)) == set(Image.objects.visible_to(user)), user.username
        assert scoped_images(user).count() > 0


def test_each_top_entry_links_to_the_dashboard_narrowed_to_it(client, world):
    rows(world, 2, disease=world.glaucoma)
    rows(world, 1, disease=None)
    client.force_login(world.alice)
    response = get(client, "?source=direct")
    diseases = next(b for b in kpi(response).breakdowns if b.title == "Diseases")
    hrefs = {e.name: e.href for e in diseases.top}
    assert hrefs == {
        "Glaucoma": f"?source=direct&disease={world.glaucoma.pk}",
        "Not set": "?source=direct&disease=none",
    }
    assert len(card_ids(get(client, hrefs["Not set"]))) == 1


# Words and addresses (issue 11, C22) -----------------------------------------------------


def test_it_is_called_images_because_it_holds_camera_images_too(client, world):
    rows(world, 1)
    client.force_login(world.alice)
    text = get(client).content.decode()
    assert "<title>Images · Fundus Hub</title>" in text and "<h1>Images</h1>" in text
    assert "Direct Upload Dashboard" not in text and "Total uploads" not in text
    assert re.search(r'<h2>Images</h2>\s*<p class="kpi-number" id="kpi-total">1</p>', text)


def test_it_says_one_kind_and_two_kinds(client, world):
    rows(world, 1, camera=world.topcon, disease=world.dr)
    rows(world, 1, camera=world.canon, disease=world.dr)
    client.force_login(world.alice)
    text = get(client).content.decode()
    distinct = dict(
        re.findall(
            r'<h2>(\w+) <span class="kpi-distinct">(\d+ <span class="kpi-kinds">\w+</span>)', text
        )
    )
    assert distinct["Cameras"] == '2 <span class="kpi-kinds">kinds</span>'
    assert distinct["Diseases"] == '1 <span class="kpi-kinds">kind</span>'


def test_blank_filter_fields_are_sent_on_to_the_clean_address(client, world):
    client.force_login(world.alice)
    response = client.get(URL + f"?date_from=&hospital=&disease={world.dr.pk}&camera=+&per_page=24")
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?disease={world.dr.pk}&per_page=24"
    response = client.get(URL + "?date_from=&date_to=")
    assert response.status_code == 302 and response["Location"] == URL


def test_the_job_filter_shows_only_the_images_of_that_upload_job(client, world):
    from fundushub.uploads.models import UploadItem, UploadJob

    mine, other, duplicate_of = rows(world, 3)
    job = UploadJob.objects.create(
        user=world.alice,
        hospital=world.st_lucia,
        lab_unit=world.retina,
        camera=world.topcon,
        disease=world.dr,
        area=world.left,
    )
    UploadItem.objects.create(job=job, position=0, filename="a.jpg", state="completed", image=mine)
    UploadItem.objects.create(
        job=job, position=1, filename="b.jpg", state="duplicate", image=duplicate_of
    )
    UploadItem.objects.create(job=job, position=2, filename="c.jpg", state="error")
    client.force_login(world.alice)
    response = get(client, f"?job={job.pk}")
    assert set(card_ids(response)) == {str(mine.pk), str(duplicate_of.pk)}
    assert kpi(response).total == 2
    text = response.content.decode()
    assert f'<input type="hidden" name="job" value="{job.pk}">' in text
    assert 'href="?">Show every job\'s images</a>' in text


def test_a_job_filter_that_is_not_a_job_id_is_named_and_ignored(client, world):
    rows(world, 2)
    client.force_login(world.alice)
    response = get(client, "?job=nonsense")
    assert len(card_ids(response)) == 2
    assert "Upload job: “nonsense” is not valid" in response.content.decode()


# Bulk edit/delete controls: only for cards the user may change ------------------------------

BULK_CONTROLS = ('id="select-all"', "Edit Selected", "Delete Selected")


def test_a_grader_sees_no_bulk_edit_or_delete_controls(client, world):
    rows(world, 3)
    client.force_login(world.gina)
    body = client.get(URL).content.decode()
    assert body.count('class="thumb-card') == 3
    for control in BULK_CONTROLS:
        assert control not in body
    assert 'name="images"' not in body  # no checkbox on any card
    assert 'data-show="edited"' in body  # the Original/Edited switch stays


def test_an_uploader_can_select_only_the_images_they_uploaded(client, world):
    mine = rows(world, 2, user="alice")
    theirs = rows(world, 1, user="mary")
    client.force_login(world.alice)
    body = client.get(URL).content.decode()
    for control in BULK_CONTROLS:
        assert control in body
    picked = re.findall(r'name="images" value="([0-9a-f-]+)"', body)
    assert sorted(picked) == sorted(str(i.pk) for i in mine)
    assert str(theirs[0].pk) not in picked


def test_an_uploader_sees_no_bulk_controls_on_a_page_of_others_images(client, world):
    rows(world, 2, user="mary")
    client.force_login(world.alice)
    body = client.get(URL).content.decode()
    for control in BULK_CONTROLS:
        assert control not in body


def test_a_data_manager_can_select_every_image_shown(client, world):
    rows(world, 2, user="alice")
    rows(world, 1, user="mary")
    client.force_login(world.mary)
    body = client.get(URL).content.decode()
    for control in BULK_CONTROLS:
        assert control in body
    assert body.count('name="images"') == 3
