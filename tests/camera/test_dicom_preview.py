import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image as PILImage
from pydicom.data import get_testdata_file

from fundushub.camera.dicom import NoPreview, max_pixels, preview_png
from fundushub.camera.models import CameraFile
from fundushub.store import blobs
from fundushub.store.models import Image
from tests.camera import dicoms
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


def preview(data: bytes) -> PILImage.Image:
    return PILImage.open(io.BytesIO(preview_png(io.BytesIO(data))))


def refusal(data: bytes) -> str:
    with pytest.raises(NoPreview) as e:
        preview_png(io.BytesIO(data))
    return str(e.value)


def test_an_8_bit_rgb_dicom_keeps_its_pixels():
    pixels = bytes(range(2 * 3 * 3))
    im = preview(dicoms.build(rows=2, columns=3, samples=3, pixel_data=pixels))
    assert im.mode == "RGB" and im.size == (3, 2)
    assert im.tobytes() == pixels


def test_a_planar_rgb_dicom_is_put_back_together():
    red, green, blue = b"\x10" * 6, b"\x20" * 6, b"\x30" * 6
    data = dicoms.build(
        rows=2, columns=3, samples=3, pixel_data=red + green + blue, PlanarConfiguration=1
    )
    assert preview(data).getpixel((2, 1)) == (0x10, 0x20, 0x30)


def test_a_16_bit_monochrome_dicom_is_stretched_to_grey():
    im = preview(dicoms.build(rows=8, columns=8, bits=16))
    assert im.mode == "L" and im.size == (8, 8)
    assert im.getextrema() == (0, 255)


def test_a_multi_frame_dicom_previews_its_first_frame():
    first, rest = b"\x0a" * 12, b"\xc8" * 24
    im = preview(dicoms.build(rows=3, columns=4, frames=3, pixel_data=first + rest))
    assert im.size == (4, 3) and im.getextrema() == (10, 10)


def test_a_monochrome1_dicom_is_inverted():
    im = preview(dicoms.build(rows=1, columns=2, pixel_data=b"\x00\xff", photometric="MONOCHROME1"))
    assert im.tobytes() == b"\xff\x00"


def test_a_dicom_with_a_small_jpeg_frame_gets_its_preview():
    im = preview(dicoms.jpeg_dicom(dicoms.jpeg(size=(24, 16))))
    assert im.mode == "RGB" and im.size == (24, 16)


def test_a_dicom_declaring_more_pixels_than_images_may_have_is_refused_before_allocating():
    reason = refusal(dicoms.bomb())
    assert "65535 × 65535 pixels" in reason and f"{max_pixels():,}" in reason


def test_the_cap_is_the_one_images_have():
    from fundushub.store import decoding

    assert max_pixels() == PILImage.MAX_IMAGE_PIXELS == 80_000_000
    assert decoding.PILImage is PILImage


@pytest.mark.parametrize("claim", [(65535, 65535), (10000, 10000)])
def test_a_jpeg_frame_whose_header_claims_a_huge_size_is_refused(claim):
    # 65535² is past Pillow's own error threshold; 10000² is between the cap and twice the cap,
    # where Pillow only warns.
    reason = refusal(dicoms.jpeg_dicom(dicoms.jpeg(claim=claim)))
    assert "JPEG frame" in reason and f"{max_pixels():,}" in reason


def test_a_dicom_with_rows_0_is_refused_in_words():
    assert "empty image" in refusal(dicoms.build(rows=0, pixel_data=b""))


def test_a_dicom_without_pixel_data_is_refused_in_words():
    assert refusal(dicoms.build(pixel_data=None)) == "the DICOM has no pixel data"


def test_pixel_data_shorter_than_declared_is_refused():
    assert "shorter than its header declares" in refusal(dicoms.build(pixel_data=b"\x01\x02"))


def test_a_multi_frame_dicom_missing_its_last_frames_is_refused():
    data = dicoms.build(rows=3, columns=4, frames=3, pixel_data=dicoms.gradient(24))
    assert "(24 bytes of 36)" in refusal(data)


def test_an_unsupported_layout_is_refused_in_words():
    assert "not supported" in refusal(dicoms.build(bits=32))


PEAK = """
import io, resource, sys
# Bounded, so that a preview that does allocate what the header claims fails instead of
# taking the machine's memory.
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
from fundushub.camera.dicom import NoPreview, preview_png
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    preview_png(io.BytesIO(data))
except NoPreview:
    pass
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_kib(path: Path) -> tuple[int, int]:
    """Peak resident memory (KiB) of a fresh process before and after previewing the file."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    before, after = map(int, done.stdout.split())
    return before, after


def test_previewing_the_1_5_kb_bomb_costs_next_to_no_memory(tmp_path):
    path = tmp_path / "bomb.dcm"
    path.write_bytes(dicoms.bomb())
    before, after = peak_kib(path)
    print(
        f"\npeak memory previewing a {path.stat().st_size} B DICOM claiming 65535x65535 16-bit: "
        f"{after / 1024:.1f} MiB (+{(after - before) / 1024:.1f} MiB over the process before it)"
    )
    assert after - before < 16 * 1024


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
    record = CameraFile.objects.get()
    assert record.image_state == "no_preview"
    assert record.image_detail == "No preview: the DICOM has no pixel data"
    assert not Image.objects.exists()


def test_an_uploaded_bomb_is_kept_byte_exact_with_no_preview_and_a_reason(cam):
    data = dicoms.bomb()
    assert _upload(cam, "bomb.dcm", data).status_code == 201
    run_worker()
    record = CameraFile.objects.get()
    assert record.image_state == "no_preview"
    assert "65535 × 65535 pixels" in record.image_detail
    assert not Image.objects.exists()
    with blobs.open_blob(record.stored_filename) as f:
        assert f.read() == data
