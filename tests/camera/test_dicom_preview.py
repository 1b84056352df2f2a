import io

import pytest
from PIL import Image as PILImage
from pydicom.data import get_testdata_file

from fundushub.camera.dicom import NoPreview, preview_png
from fundushub.camera.models import CameraFile
from fundushub.images.models import Image
from tests.camera.conftest import DICOM_HEAD, api
from tests.conftest import run_worker


def dicom(name: str) -> bytes:
    with open(get_testdata_file(name), "rb") as f:
        return f.read()


def test_a_16_bit_monochrome_dicom_gets_a_grey_preview():
    im = PILImage.open(io.BytesIO(preview_png(io.BytesIO(dicom("CT_small.dcm")))))
    assert im.format == "PNG" and im.mode == "L" and im.size == (128, 128)
    assert im.getextrema()[1] > im.getextrema()[0]  # not a flat image


def test_a_dicom_with_jpeg_frames_gets_a_colour_preview():
    im = PILImage.open(io.BytesIO(preview_png(io.BytesIO(dicom("SC_rgb_jpeg_dcmtk.dcm")))))
    assert im.mode == "RGB"


def test_a_dicom_without_pixel_data_has_no_preview():
    with pytest.raises(NoPreview):
        preview_png(io.BytesIO(dicom("rtplan.dcm")))


def _upload(cam, name, data, file_type="left_dicom"):
    client = api(cam.token)
    client.post(
        "/api/retinopathy/resolve/",
        {"subject_identifier": cam.subject.subject_identifier},
        format="json",
    )
    return client.post(
        f"/api/retinopathy/{cam.subject.subject_identifier}/{file_type}/",
        {"file": _named(name, data)},
        format="multipart",
    )


def _named(name, data):
    f = io.BytesIO(data)
    f.name = name
    return f


def test_an_uploaded_dicom_joins_the_image_store_as_its_preview_with_its_eye(cam):
    data = dicom("CT_small.dcm")
    assert _upload(cam, "scan_OD.dcm", data, "right_dicom").status_code == 201
    run_worker()
    record = CameraFile.objects.get()
    assert record.image_state == "stored"
    image = Image.objects.get()
    assert image.area.code == "right" and image.content_type == "image/png"
    assert image.original_filename == "scan_OD.dcm.png"
    assert record.sha256 != image.sha256  # the DICOM itself is kept as it came


def test_a_dicom_whose_pixels_cannot_be_decoded_is_kept_without_an_image(cam):
    assert _upload(cam, "odd.dcm", DICOM_HEAD + b"not a dataset").status_code == 201
    run_worker()
    assert CameraFile.objects.get().image_state == "undecodable"
    assert not Image.objects.exists()
