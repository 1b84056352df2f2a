from django.core.files.uploadedfile import SimpleUploadedFile

from fundushub.accounts import roles
from fundushub.accounts.models import UploadLimits
from tests.conftest import form_data, fundus_jpeg, make_user, run_worker

URL = "/api/direct-upload/options"
MB = 1024 * 1024


def options(client, user):
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    return response.json()


def test_it_offers_only_the_users_hospital_with_only_their_lab_unit(client, world):
    assert options(client, world.alice)["hospitals"] == [
        {
            "id": world.st_lucia.pk,
            "name": "St Lucia",
            "lab_units": [{"id": world.retina.pk, "name": "Retina"}],
        }
    ]


def test_a_user_with_two_lab_units_in_one_hospital_gets_both_under_it(client, world):
    [hospital] = options(client, world.mary)["hospitals"]
    assert hospital["id"] == world.st_lucia.pk
    assert hospital["lab_units"] == [
        {"id": world.retina.pk, "name": "Retina"},
        {"id": world.screening.pk, "name": "Screening"},
    ]


def test_a_user_in_two_hospitals_gets_each_with_its_own_lab_units(client, world):
    dora = make_user("dora", roles.UPLOADER, [world.retina, world.outpatients])
    assert options(client, dora)["hospitals"] == [
        {
            "id": world.northgate.pk,
            "name": "Northgate",
            "lab_units": [{"id": world.outpatients.pk, "name": "Outpatients"}],
        },
        {
            "id": world.st_lucia.pk,
            "name": "St Lucia",
            "lab_units": [{"id": world.retina.pk, "name": "Retina"}],
        },
    ]


def test_an_admin_gets_only_the_hospitals_they_are_assigned_to(client, world):
    assert [h["name"] for h in options(client, world.root)["hospitals"]] == ["Northgate"]


def test_a_user_without_lab_units_gets_no_hospitals(client, world):
    nobody = make_user("nobody", roles.UPLOADER, [])
    assert options(client, nobody)["hospitals"] == []


def test_it_lists_the_cameras_diseases_and_areas(client, world):
    body = options(client, world.alice)
    assert {c["id"]: c["name"] for c in body["cameras"]} == {
        world.topcon.pk: "Topcon TRC-NW400",
        world.canon.pk: "Canon CR-2",
    }
    assert {d["code"] for d in body["diseases"]} == {"DR", "Glaucoma", "AMD"}
    assert {a["code"] for a in body["areas"]} == {"left", "right", "both"}
    assert {"id": world.dr.pk, "code": "DR", "name": world.dr.name} in body["diseases"]
    assert {"id": world.left.pk, "code": "left", "name": world.left.name} in body["areas"]


def test_the_limits_are_the_documents_defaults(client, world):
    assert options(client, world.alice)["limits"] == {
        "max_file_size_mb": 5,
        "max_file_size_bytes": 5 * MB,
        "max_files": 100,
        "max_files_per_user": 50,
    }


def test_the_limits_follow_the_settings(client, world, settings):
    settings.DIRECT_UPLOAD_MAX_FILE_SIZE_MB = 8
    settings.DIRECT_UPLOAD_MAX_FILES = 20
    settings.MAX_FILES_PER_UPLOAD = 500
    assert options(client, world.alice)["limits"] == {
        "max_file_size_mb": 8,
        "max_file_size_bytes": 8 * MB,
        "max_files": 20,
        "max_files_per_user": 500,
    }


def test_a_limit_an_admin_set_at_runtime_wins_over_the_settings(client, world, settings):
    settings.DIRECT_UPLOAD_MAX_FILE_SIZE_MB = 8
    settings.DIRECT_UPLOAD_MAX_FILES = 20
    UploadLimits.objects.create(max_file_size_mb=2, max_files=10)
    limits = options(client, world.alice)["limits"]
    assert limits["max_file_size_mb"] == 2 and limits["max_file_size_bytes"] == 2 * MB
    assert limits["max_files"] == 10
    assert limits["max_files_per_user"] == 50  # left empty by the admin: the setting stands


def test_the_quota_of_a_new_user_is_the_default_with_nothing_used(client, world):
    assert options(client, world.alice)["quota"] == {"quota": 50, "used": 0, "remaining": 50}


def test_the_quota_counts_the_files_stored(client, world):
    client.force_login(world.alice)
    files = [SimpleUploadedFile(f"{i}.jpg", fundus_jpeg(i), "image/jpeg") for i in range(2)] + [
        SimpleUploadedFile("again.jpg", fundus_jpeg(0), "image/jpeg")
    ]
    client.post("/direct/upload", {**form_data(world), "files": files})
    run_worker()
    # The duplicate is not counted against the quota.
    assert options(client, world.alice)["quota"] == {"quota": 50, "used": 2, "remaining": 48}


def test_a_users_own_quota_wins_over_the_default(client, world):
    world.alice.upload_quota = 5
    world.alice.file_upload_count = 3
    world.alice.save()
    assert options(client, world.alice)["quota"] == {"quota": 5, "used": 3, "remaining": 2}


def test_a_default_quota_set_at_runtime_applies(client, world):
    UploadLimits.objects.create(max_files_per_user=10)
    world.alice.file_upload_count = 4
    world.alice.save()
    assert options(client, world.alice)["quota"] == {"quota": 10, "used": 4, "remaining": 6}


def test_a_quota_of_zero_is_unlimited_with_nothing_remaining_to_count(client, world):
    world.alice.upload_quota = 0
    world.alice.file_upload_count = 1234
    world.alice.save()
    assert options(client, world.alice)["quota"] == {"quota": 0, "used": 1234, "remaining": None}


def test_anonymous_callers_get_a_401_in_json(client, world):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json() == {"error": "Authentication required"}


def test_it_only_answers_get(client, world):
    client.force_login(world.alice)
    assert client.post(URL).status_code == 405
