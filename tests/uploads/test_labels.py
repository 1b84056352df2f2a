"""uploads/labels.py: each file's subject and eye, from the form's fields and the file names."""

import pytest
from django.http import QueryDict

from fundushub.catalog.models import Area
from fundushub.uploads.labels import Label, label_files, read_form
from fundushub.uploads.subjects import InvalidLabel


def fields(**values) -> QueryDict:
    q = QueryDict(mutable=True)
    for key, value in values.items():
        if isinstance(value, list):
            q.setlist(key, value)
        else:
            q[key] = value
    return q


def labels(names, **values):
    return label_files(read_form(fields(**values)), names)


@pytest.fixture
def areas(world):
    return {a.code: a.pk for a in Area.objects.all()}


def test_a_form_without_the_new_fields_labels_nothing(world):
    assert labels(["105-10-0989-3_L.jpg"]) == [Label()]


def test_a_typed_subject_goes_to_every_file(world):
    assert labels(["a.jpg", "b.jpg"], subject=" S1 ") == [Label("S1"), Label("S1")]


def test_typed_needs_a_subject(world):
    with pytest.raises(InvalidLabel, match="Type the subject identifier"):
        labels(["a.jpg"], subject_source="typed")


def test_the_configured_pattern_reads_the_subject_from_each_name(world):
    names = ["105-10-0989-3_L.jpg", "IMG_0001.jpg"]
    assert labels(names, subject_source="filename") == [Label("105-10-0989-3"), Label("")]


def test_a_pattern_sent_with_the_upload_replaces_the_configured_one(world):
    got = labels(["P0042_L.jpg"], subject_source="filename", subject_pattern=r"^(?P<subject>P\d+)")
    assert got == [Label("P0042")]


def test_the_setting_is_the_pattern_when_none_is_sent(world, settings):
    settings.FUNDUSHUB_SUBJECT_PATTERN = r"^(?P<subject>P\d+)"
    assert labels(["P7_x.jpg"], subject_source="filename") == [Label("P7")]


def test_an_unusable_pattern_is_refused_with_why(world):
    with pytest.raises(
        InvalidLabel, match=r"^The subject pattern cannot be used: it is not a valid"
    ):
        labels(["a.jpg"], subject_source="filename", subject_pattern="(")
    with pytest.raises(InvalidLabel, match="not a group"):
        labels(["a.jpg"], subject_source="filename", subject_pattern="(a+)+")


def test_a_pattern_that_finds_no_valid_identifier_refuses_and_names_the_file(world):
    with pytest.raises(InvalidLabel, match="^a b_L.jpg: The subject 'a b'"):
        labels(["a b_L.jpg"], subject_source="filename", subject_pattern=r"^(?P<subject>[^_]+)")


def test_the_manifest_gives_each_listed_file_its_subject_and_eye(world, areas):
    manifest = "filename,subject,eye\na.jpg,S1,L\nB.JPG,S2,\nc.jpg,S3,unknown\n"
    got = labels(["a.jpg", "b.jpg", "c.jpg", "d.jpg"], subject_source="manifest", manifest=manifest)
    assert got == [
        Label("S1", areas["left"]),
        Label("S2"),
        Label("S3", None, eye_unknown=True),
        Label(""),  # not listed: nothing said
    ]


def test_the_manifest_source_needs_a_manifest(world):
    with pytest.raises(InvalidLabel, match="Add the manifest"):
        labels(["a.jpg"], subject_source="manifest", manifest="  ")


def test_a_bad_manifest_is_refused(world):
    with pytest.raises(InvalidLabel, match="Manifest line 2"):
        labels(["a.jpg"], subject_source="manifest", manifest="filename,subject\n,S1\n")


def test_an_unknown_source_is_refused(world):
    with pytest.raises(InvalidLabel, match="The subject source must be one of"):
        labels(["a.jpg"], subject_source="ouija")


def test_eyes_come_from_names_only_when_asked(world, areas):
    names = ["x_L.jpg", "x_OD.jpg", "x_OU.jpg", "BLEFT.jpg", "x.jpg"]
    assert labels(names) == [Label()] * 5
    assert labels(names, eye_from_name="on") == [
        Label("", areas["left"]),
        Label("", areas["right"]),
        Label("", areas["both"]),
        Label(),  # no standalone word: the job's area
        Label(),
    ]


def test_what_was_typed_or_chosen_per_file_wins(world, areas):
    got = labels(
        ["105-10-0989-3_L.jpg", "105-10-0989-3_R.jpg", "c.jpg"],
        subject_source="filename",
        eye_from_name="on",
        file_subject=["", "S9", ""],
        file_eye=["right", "unknown", ""],
    )
    assert got == [
        Label("105-10-0989-3", areas["right"]),
        Label("S9", None, eye_unknown=True),
        Label(""),
    ]


def test_a_per_file_eye_wins_over_the_manifests(world, areas):
    got = labels(
        ["a.jpg"],
        subject_source="manifest",
        manifest="filename,subject,eye\na.jpg,S1,L\n",
        file_eye=["right"],
    )
    assert got == [Label("S1", areas["right"])]


def test_a_manifest_eye_wins_over_the_name(world, areas):
    got = labels(
        ["a_L.jpg"],
        subject_source="manifest",
        eye_from_name="on",
        manifest="filename,subject,eye\na_L.jpg,S1,R\n",
    )
    assert got == [Label("S1", areas["right"])]


@pytest.mark.parametrize("key", ["file_subject", "file_eye"])
def test_per_file_fields_must_match_the_files_in_number(world, key):
    with pytest.raises(InvalidLabel, match="do not match the files: 1 for 2 files"):
        labels(["a.jpg", "b.jpg"], **{key: [""]})


def test_a_per_file_eye_must_be_one_of_the_four(world):
    with pytest.raises(InvalidLabel, match="File 2: the eye 'l' is not left, right, both, unknown"):
        labels(["a.jpg", "b.jpg"], file_eye=["", "L"])


def test_a_per_file_subject_is_checked(world):
    with pytest.raises(InvalidLabel, match="File 1: The subject 'a/b'"):
        labels(["a.jpg"], file_subject=["a/b"])


def test_an_eye_with_no_area_in_the_reference_data_is_refused(world):
    Area.objects.filter(code="both").delete()
    with pytest.raises(InvalidLabel, match="x_OU.jpg: the reference data has no 'both' area"):
        labels(["x_OU.jpg"], eye_from_name="on")


def test_an_incomplete_form_is_read_without_asking_for_what_is_still_to_come(world):
    form = read_form(fields(subject_source="typed"), complete=False)
    assert form.subjects_known_before_files() == []
    form = read_form(fields(subject_source="manifest"), complete=False)
    assert form.manifest == {}


def test_the_subjects_known_before_the_files_are_the_typed_and_listed_ones(world):
    form = read_form(
        fields(
            subject_source="manifest",
            manifest="filename,subject\na.jpg,S1\nb.jpg,S2\n",
            file_subject=["S3", ""],
        )
    )
    assert sorted(form.subjects_known_before_files()) == ["S1", "S2", "S3"]
