"""uploads/manifest.py: the CSV manifest dropped with the images, parsed and bounded."""

import pytest

from fundushub.uploads.manifest import MAX_BYTES, MAX_ROWS, Row, parse_manifest
from fundushub.uploads.subjects import InvalidLabel


def test_it_maps_each_file_name_to_its_subject():
    rows = parse_manifest("filename,subject\na.jpg,105-10-0989-3\nb.jpg,105-10-0989-4\n")
    assert rows == {"a.jpg": Row("105-10-0989-3", ""), "b.jpg": Row("105-10-0989-4", "")}


def test_it_reads_an_eye_column_in_any_spelling():
    text = (
        "filename,subject,eye\na.jpg,S1,L\nb.jpg,S1,od\nc.jpg,S1,OU\nd.jpg,S1,unknown\ne.jpg,S1,\n"
    )
    rows = parse_manifest(text)
    assert [rows[n].eye for n in ("a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg")] == [
        "left",
        "right",
        "both",
        "unknown",
        "",
    ]


def test_its_columns_may_come_in_any_order_and_case_with_others_ignored():
    rows = parse_manifest("Eye;Notes;SUBJECT;FileName\nright;seen twice;S1;a.jpg\n")
    assert rows == {"a.jpg": Row("S1", "right")}


def test_semicolons_separate_columns_as_spreadsheets_in_many_countries_save_them():
    assert parse_manifest("filename;subject\na.jpg;S1\n") == {"a.jpg": Row("S1", "")}


def test_file_names_are_matched_case_insensitively():
    assert "img_l.jpg" in parse_manifest("filename,subject\nIMG_L.JPG,S1\n")


def test_it_takes_a_byte_order_mark_quotes_crlf_and_blank_lines():
    text = '\ufefffilename,subject\r\n\r\n"a, b.jpg", S1 \r\n,,\r\n'
    assert parse_manifest(text) == {"a, b.jpg": Row("S1", "")}


def test_a_blank_subject_says_nothing_about_that_file():
    assert parse_manifest("filename,subject,eye\na.jpg,,L\n") == {"a.jpg": Row("", "left")}


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "The manifest is empty."),
        ("\n \n", "The manifest is empty."),
        ("name,patient\na.jpg,S1\n", "first row must name its columns: filename,subject"),
        ("filename,subject\n,S1\n", "Manifest line 2: no file name."),
        ("filename,subject\na.jpg,S 1\n", "Manifest line 2: The subject 'S 1' is not a valid"),
        ("filename,subject\na.jpg,../x\n", "Manifest line 2: The subject '../x' is not a valid"),
        ("filename,subject\na.jpg," + "9" * 51 + "\n", "Manifest line 2: The subject"),
        ("filename,subject,eye\na.jpg,S1,middle\n", "line 2: the eye 'middle' is not left"),
        (
            "filename,subject\na.jpg,S1\nA.JPG,S2\n",
            "line 3: A.JPG is listed twice (also on line 2)",
        ),
        ('filename,subject\n"a.jpg"x,S1\n', "The manifest is not valid CSV (line 2"),
        ("filename,subject\na\x00.jpg,S1\n", "it contains NUL characters"),
        ("filename,subject\n" + "x" * 256 + ",S1\n", "longer than 255 characters"),
    ],
)
def test_it_refuses_a_manifest_it_cannot_read_and_names_the_line(text, message):
    with pytest.raises(InvalidLabel, match=None) as refused:
        parse_manifest(text)
    assert message in str(refused.value)


def test_it_takes_up_to_the_row_limit():
    text = "filename,subject\n" + "".join(f"{i}.jpg,S{i}\n" for i in range(MAX_ROWS))
    assert len(parse_manifest(text)) == MAX_ROWS


def test_it_refuses_more_rows_than_the_limit():
    text = "filename,subject\n" + "".join(f"{i}.jpg,S\n" for i in range(MAX_ROWS + 1))
    with pytest.raises(InvalidLabel, match=f"more than {MAX_ROWS} rows"):
        parse_manifest(text)


def test_it_refuses_a_manifest_over_the_size_limit_before_reading_it():
    text = "filename,subject\n" + "a.jpg,S1," + "x" * MAX_BYTES + "\n"
    with pytest.raises(InvalidLabel, match="too large"):
        parse_manifest(text)
