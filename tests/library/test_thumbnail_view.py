from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from fundushub.store.models import Image
from tests.conftest import form_data, fundus_jpeg, run_worker


def stored_image(client, world):
    client.force_login(world.alice)
    client.post(
        "/direct/upload",
        {**form_data(world), "files": [SimpleUploadedFile("a.jpg", fundus_jpeg(1))]},
    )
    run_worker()
    return Image.objects.get()


def test_it_serves_a_small_jpeg_privately_with_nosniff(client, world):
    image = stored_image(client, world)
    response = client.get(f"/images/{image.id}/thumbnail")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("private")
    import io

    thumb = PILImage.open(io.BytesIO(b"".join(response.streaming_content)))
    assert max(thumb.size) <= 384
    assert not thumb.getexif() and "comment" not in thumb.info


def test_someone_outside_the_lab_unit_gets_a_404(client, world):
    image = stored_image(client, world)
    client.force_login(world.bob)
    assert client.get(f"/images/{image.id}/thumbnail").status_code == 404


def test_a_data_manager_of_another_lab_unit_of_the_same_hospital_gets_a_404(
    client, world, same_hospital_other_unit_user
):
    image = stored_image(client, world)
    client.force_login(same_hospital_other_unit_user)
    assert client.get(f"/images/{image.id}/thumbnail").status_code == 404


def test_a_colleague_in_the_same_lab_unit_may_see_it(client, world):
    image = stored_image(client, world)
    client.force_login(world.mary)
    assert client.get(f"/images/{image.id}/thumbnail").status_code == 200


def test_anonymous_users_are_sent_to_sign_in(client, world):
    image = stored_image(client, world)
    client.logout()
    assert client.get(f"/images/{image.id}/thumbnail").status_code == 302
