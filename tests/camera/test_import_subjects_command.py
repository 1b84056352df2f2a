"""manage import_subjects FILE.csv (subject_identifier,initials,sex,date_of_birth,site)."""

import io
import subprocess
import sys
from datetime import date

import pytest
from django.core.management import CommandError, call_command

from fundushub.camera.models import Subject
from tests.test_cli import clean_env

HEADER = "subject_identifier,initials,sex,date_of_birth,site\n"


def write(tmp_path, text, name="subjects.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(path) -> tuple[str, str, int]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("import_subjects", str(path), stdout=out, stderr=err)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    return out.getvalue(), err.getvalue(), code


def test_it_imports_subjects_with_site_by_id_or_exact_name(world, tmp_path):
    path = write(
        tmp_path,
        HEADER
        + f"105-10-0989-3,JD,M,1972-03-14,{world.st_lucia.pk}\n"
        + "205-20-0001-1,AB,F,1980-01-02,Northgate\n"
        + "105-10-0990-1,,,,St Lucia\n",
    )
    out, err, code = run(path)
    assert code == 0, err
    assert err == ""
    a = Subject.objects.get(subject_identifier="105-10-0989-3")
    assert (a.initials, a.sex, a.date_of_birth, a.site) == (
        "JD",
        "M",
        date(1972, 3, 14),
        world.st_lucia,
    )
    b = Subject.objects.get(subject_identifier="205-20-0001-1")
    assert (b.sex, b.date_of_birth, b.site) == ("F", date(1980, 1, 2), world.northgate)
    c = Subject.objects.get(subject_identifier="105-10-0990-1")
    assert (c.initials, c.sex, c.date_of_birth, c.site) == ("", "", None, world.st_lucia)


def test_a_re_import_updates_existing_subjects(world, tmp_path):
    run(write(tmp_path, HEADER + "105-10-0989-3,JD,M,1972-03-14,St Lucia\n"))
    out, err, code = run(
        write(tmp_path, HEADER + "105-10-0989-3,JX,F,1973-04-15,Northgate\n", "again.csv")
    )
    assert code == 0, err
    subject = Subject.objects.get()
    assert (subject.initials, subject.sex, subject.date_of_birth, subject.site) == (
        "JX",
        "F",
        date(1973, 4, 15),
        world.northgate,
    )


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_kept(world, tmp_path):
    path = write(
        tmp_path,
        HEADER
        + "105-10-0001-1,AA,M,1970-01-01,St Lucia\n"  # line 2: good
        + "105-10-0002-2,BB,M,14/03/1972,St Lucia\n"  # line 3: not ISO
        + "105-10-0003-3,CC,M,1970-01-01,Nowhere General\n"  # line 4: unknown site
        + "105-10-0004-4,DD,M,1970-01-01,Lucia\n"  # line 5: not the exact name
        + "105-10-0005-5,EE,X,1970-01-01,St Lucia\n"  # line 6: sex
        + ",FF,M,1970-01-01,St Lucia\n"  # line 7: no identifier
        + "105-10-0007-7,GG,F,1971-02-03,Northgate\n"  # line 8: good
        + "105-10-0008-8,HH,M,1970-02-30,St Lucia\n",  # line 9: no such date
    )
    out, err, code = run(path)
    assert code != 0
    assert set(Subject.objects.values_list("subject_identifier", flat=True)) == {
        "105-10-0001-1",
        "105-10-0007-7",
    }
    lines = [line for line in err.splitlines() if line.strip()]
    for number in (3, 4, 5, 6, 7, 9):
        assert any(f"line {number}" in line for line in lines), (number, err)
    for number in (2, 8):
        assert not any(f"line {number}" in line for line in lines), (number, err)


def test_a_file_with_only_bad_rows_exits_non_zero_and_keeps_nothing(world, tmp_path):
    _, err, code = run(write(tmp_path, HEADER + "105-10-0001-1,AA,M,1970-01-01,Mars\n"))
    assert code != 0
    assert "line 2" in err
    assert not Subject.objects.exists()


@pytest.mark.parametrize(
    "header",
    [
        "subject_identifier,initials,sex,date_of_birth\n",
        "id,initials,sex,date_of_birth,site\n",
        "\n",
    ],
)
def test_missing_columns_are_a_command_error(world, tmp_path, header):
    path = write(tmp_path, header + "105-10-0001-1,AA,M,1970-01-01,St Lucia\n")
    with pytest.raises(CommandError):
        call_command("import_subjects", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert not Subject.objects.exists()


def test_an_unreadable_file_is_a_command_error(world, tmp_path):
    with pytest.raises(CommandError):
        call_command("import_subjects", str(tmp_path / "missing.csv"), stdout=io.StringIO())


def test_a_utf8_bom_and_column_order_do_not_matter(world, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(
        "\ufeffsite,date_of_birth,sex,initials,subject_identifier\n"
        "Northgate,1970-01-01,f,zz,205-20-0009-9\n".encode()
    )
    _, err, code = run(path)
    assert code == 0, err
    subject = Subject.objects.get()
    assert subject.site == world.northgate and subject.sex == "F"


def test_the_cli_exit_status_is_non_zero_when_a_row_was_bad(tmp_path):
    env = clean_env(tmp_path / "data")
    fundushub = [sys.executable, "-m", "fundushub", "manage"]
    migrated = subprocess.run(
        [*fundushub, "migrate", "--no-input"], env=env, capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr
    good = write(tmp_path, HEADER, "empty.csv")
    result = subprocess.run(
        [*fundushub, "import_subjects", str(good)], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    bad = write(tmp_path, HEADER + "105-10-0001-1,AA,M,1970-01-01,No Such Hospital\n")
    result = subprocess.run(
        [*fundushub, "import_subjects", str(bad)], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "line 2" in result.stderr
