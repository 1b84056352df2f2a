"""checks/runner.py: one bounded decode per image, in upright pixels."""

import io

from PIL import Image as PILImage

from fundushub.checks.runner import WORKING_SIZE, load_subject
from tests.conftest import store_image


def sideways_jpeg(size=(1200, 1600)) -> bytes:
    """A photo stored 1200 wide × 1600 high whose EXIF says: turn it a quarter (upright 1600 × 1200)."""
    im = PILImage.new("RGB", size, (170, 70, 30))
    exif = im.getexif()
    exif[0x0112] = 6
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_the_working_copy_is_at_most_the_working_size(world):
    image = store_image(world, 1)
    subject = load_subject(image)
    assert max(subject.rgb.shape[:2]) <= WORKING_SIZE
    assert subject.rgb.shape[2] == 3


def test_a_photo_stored_sideways_is_checked_upright_with_the_scale_of_its_upright_width(world):
    image = store_image(world, data=sideways_jpeg())
    subject = load_subject(image)
    height, width = subject.rgb.shape[:2]
    assert width > height  # turned upright: 1600 × 1200 → wider than high
    assert abs(subject.scale - width / 1600) < 1e-6
