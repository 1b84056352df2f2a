from fundushub.accounts.limits import current_limits
from fundushub.accounts.models import UploadLimits


def test_an_admin_can_change_the_upload_limits_at_runtime(client, world):
    client.force_login(world.root)
    response = client.post(
        "/admin/accounts/uploadlimits/add/",
        {"max_file_size_mb": "8", "max_files": "20", "max_files_per_user": ""},
    )
    assert response.status_code == 302
    limits = current_limits()
    assert (limits.max_file_size_mb, limits.max_files, limits.max_files_per_user) == (8, 20, 50)


def test_there_is_only_one_set_of_limits(client, world):
    UploadLimits.objects.create(max_files=3)
    client.force_login(world.root)
    assert client.get("/admin/accounts/uploadlimits/add/").status_code == 403


def test_an_admin_can_override_one_users_quota(client, world):
    client.force_login(world.root)
    page = client.get(f"/admin/accounts/user/{world.alice.pk}/change/")
    assert page.status_code == 200 and "upload_quota" in page.content.decode()


def test_reference_data_is_managed_in_the_admin(client, world):
    client.force_login(world.root)
    for path in (
        "catalog/hospital",
        "catalog/labunit",
        "catalog/camera",
        "catalog/disease",
        "catalog/area",
    ):
        assert client.get(f"/admin/{path}/").status_code == 200
    response = client.post(
        "/admin/catalog/hospital/add/",
        {
            "name": "Eastfield",
            "code": "EF",
            "lab_units-TOTAL_FORMS": "1",
            "lab_units-INITIAL_FORMS": "0",
            "lab_units-0-name": "Eye Clinic",
        },
    )
    assert response.status_code == 302
    from fundushub.catalog.models import LabUnit

    assert LabUnit.objects.filter(hospital__name="Eastfield", name="Eye Clinic").exists()


def test_audit_events_cannot_be_edited_in_the_admin(client, world):
    client.force_login(world.root)
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
