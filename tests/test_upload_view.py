from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fundushub.images.models import Image
from fundushub.uploads.models import ItemState, UploadItem, UploadJob
from tests.conftest import form_data, fundus_jpeg, fundus_png, run_worker

URL = "/direct/upload"


def jpg(name, data=None, seed=0):
    return SimpleUploadedFile(name, data if data is not None else fundus_jpeg(seed), "image/jpeg")


def post(client, world, files, **overrides):
    return client.post(URL, {**form_data(world, **overrides), "files": files})


def items_of(job):
    return list(job.items.order_by("position"))


def test_the_form_shows_only_the_users_hospitals_as_pills(client, world):
    client.force_login(world.alice)
    body = client.get(URL).content.decode()
    assert "St Lucia" in body and "Northgate" not in body
    assert 'class="pill"' in body


def test_it_redirects_to_the_processing_page_with_303(client, world):
    client.force_login(world.alice)
    response = post(client, world, [jpg("a.jpg")])
    job = UploadJob.objects.get()
    assert response.status_code == 303
    assert response["Location"] == reverse("upload-processing", args=[job.id])


def test_it_stores_a_jpeg_in_the_background_not_in_the_request(client, world):
    client.force_login(world.alice)
    post(client, world, [jpg("a.jpg")])
    item = UploadItem.objects.get()
    assert item.state == ItemState.QUEUED and not Image.objects.exists()
    run_worker()
    item.refresh_from_db()
    assert item.state == ItemState.COMPLETED
    image = item.image
    assert image.hospital == world.st_lucia and image.lab_unit == world.retina
    assert image.original_filename == "a.jpg" and image.content_type == "image/jpeg"


def test_it_accepts_a_png_renamed_to_jpg_as_the_png_it_is(client, world):
    client.force_login(world.alice)
    post(client, world, [jpg("photo.jpg", fundus_png())])
    run_worker()
    item = UploadItem.objects.get()
    assert item.state == ItemState.COMPLETED
    assert item.image.content_type == "image/png"


def test_it_rejects_a_text_file_renamed_to_jpg(client, world):
    client.force_login(world.alice)
    post(client, world, [jpg("notes.jpg", b"just some text, not an image\n")])
    item = UploadItem.objects.get()
    assert item.state == ItemState.ERROR
    assert item.detail == "Invalid file type: text/plain. Only JPG/PNG allowed."
