import io

from django.core.management import call_command

from fundushub.catalog.models import Area, Camera, Disease, Hospital, LabUnit


def run(*args):
    out = io.StringIO()
    call_command("load_reference_data", *args, stdout=out)
    return out.getvalue()


def test_it_creates_the_diseases_and_areas_every_installation_needs(db):
    run()
    assert set(Disease.objects.values_list("code", flat=True)) == {"DR", "Glaucoma", "AMD"}
    assert set(Area.objects.values_list("name", flat=True)) == {
        "Left eye",
        "Right eye",
        "Both eyes",
    }
    assert not Hospital.objects.exists()


def test_demo_adds_hospitals_with_lab_units_and_cameras(db):
    run("--demo")
    assert Hospital.objects.count() >= 2
    assert all(h.lab_units.exists() for h in Hospital.objects.all())
    assert Camera.objects.count() >= 2


def test_running_it_twice_adds_nothing_the_second_time(db):
    run("--demo")
    counts = [m.objects.count() for m in (Disease, Area, Hospital, LabUnit, Camera)]
    assert "added 0 diseases, 0 areas, 0 hospitals, 0 lab_units, 0 cameras" in run("--demo")
    assert [m.objects.count() for m in (Disease, Area, Hospital, LabUnit, Camera)] == counts
