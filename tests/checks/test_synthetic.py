"""The synthetic fundus pictures the checks are tested and calibrated on: deterministic, with the
disc on the anatomically correct side, and each defect doing what it says."""

import numpy as np
import pytest

from fundushub.checks import synthetic


def pixels(image):
    return np.asarray(image, dtype=np.float32)


def test_it_draws_the_same_picture_for_the_same_seed():
    assert np.array_equal(
        pixels(synthetic.fundus(3, size=(640, 480))), pixels(synthetic.fundus(3, size=(640, 480)))
    )


def test_it_draws_a_different_picture_for_another_seed():
    a, b = (
        pixels(synthetic.fundus(3, size=(640, 480))),
        pixels(synthetic.fundus(4, size=(640, 480))),
    )
    assert np.abs(a - b).mean() > 5


def test_it_makes_a_picture_of_the_size_asked():
    assert synthetic.fundus(0, size=(1000, 700)).size == (1000, 700)


def test_it_draws_a_black_frame_around_a_round_field_of_view():
    picture = synthetic.picture(1, size=(800, 600))
    rgb = pixels(picture.image)
    assert rgb[:20, :20].max() < 20  # the corners are the frame
    cx, cy = picture.centre
    assert rgb[int(cy) - 20 : int(cy) + 20, int(cx) - 20 : int(cx) + 20, 0].mean() > 80
    assert picture.radius == pytest.approx(0.92 * 600 / 2)
    assert picture.cut < 0.01


@pytest.mark.parametrize("eye, side", [("right", 1), ("left", -1)])
def test_it_puts_the_disc_on_the_nasal_side(eye, side):
    # Right eye: the disc right of centre; left eye: left of centre (a macula-centred picture).
    picture = synthetic.picture(2, eye, size=(800, 600))
    dx = (picture.disc[0] - picture.centre[0]) / picture.radius
    assert 0.5 < side * dx < 0.75
    x, y = (round(v) for v in picture.disc)
    rgb = pixels(picture.image)
    disc = rgb[y - 5 : y + 5, x - 5 : x + 5].mean(axis=(0, 1))
    mirror = rgb[
        y - 5 : y + 5, 2 * round(picture.centre[0]) - x - 5 : 2 * round(picture.centre[0]) - x + 5
    ]
    assert (
        disc[1] > mirror[..., 1].mean() + 60
    )  # the disc is bright (in green, where the retina is dark)


def test_it_centres_the_disc_in_a_disc_centred_picture():
    picture = synthetic.picture(2, "left", size=(800, 600), centre="disc")
    assert abs(picture.disc[0] - picture.centre[0]) < 0.05 * picture.radius


def test_a_flip_mirrors_the_picture_and_the_eye():
    picture = synthetic.picture(5, "right", size=(640, 480))
    flipped = synthetic.picture(5, "right", size=(640, 480), flip=True)
    assert flipped.eye == "left"
    assert flipped.disc[0] < flipped.centre[0]
    assert np.array_equal(pixels(flipped.image), pixels(picture.image)[:, ::-1])
    assert np.array_equal(pixels(synthetic.flip(picture.image)), pixels(flipped.image))


def test_blur_removes_fine_detail():
    sharp = pixels(synthetic.fundus(6, size=(640, 480)))[..., 1]
    blurred = pixels(synthetic.fundus(6, size=(640, 480), blur=6))[..., 1]
    assert np.abs(np.diff(blurred, axis=1)).mean() < 0.5 * np.abs(np.diff(sharp, axis=1)).mean()


def test_blur_radii_mean_the_same_at_every_size():
    # A radius is in pixels of the picture seen 1024 px wide: the same blur at any resolution.
    small = synthetic.working_copy(synthetic.fundus(6, size=(800, 600), blur=5))
    large = synthetic.working_copy(synthetic.fundus(6, size=(2048, 1536), blur=5))
    small_detail = np.abs(np.diff(small[..., 1].astype(float), axis=1)).mean() * 800 / 1024
    large_detail = np.abs(np.diff(large[..., 1].astype(float), axis=1)).mean()
    assert small_detail == pytest.approx(large_detail, rel=0.35)


@pytest.mark.parametrize("factor", [0.3, 2.0])
def test_exposure_scales_the_brightness(factor):
    normal = synthetic.picture(7, size=(640, 480))
    exposed = synthetic.picture(7, size=(640, 480), exposure=factor)
    cx, cy = (round(v) for v in normal.centre)
    ratio = (
        pixels(exposed.image)[cy - 40 : cy + 40, cx - 40 : cx + 40, 1].mean()
        / pixels(normal.image)[cy - 40 : cy + 40, cx - 40 : cx + 40, 1].mean()
    )
    assert ratio == pytest.approx(factor, rel=0.15)


def test_glare_washes_out_about_the_share_asked():
    picture = synthetic.picture(8, size=(800, 600), glare=0.1)
    white = pixels(picture.image).min(axis=2) >= 225
    share = white.sum() / (np.pi * picture.radius**2)
    assert 0.08 < share < 0.2


def test_low_contrast_flattens_the_field_but_keeps_the_frame_black():
    normal = pixels(synthetic.fundus(9, size=(640, 480)))
    hazy = pixels(synthetic.fundus(9, size=(640, 480), contrast=0.3))
    middle = (slice(160, 320), slice(240, 400), 1)
    assert hazy[middle].std() < 0.45 * normal[middle].std()
    assert hazy[:10, :10].max() < 20


def test_a_crop_moves_the_field_and_reports_the_share_cut_off():
    picture = synthetic.picture(10, size=(800, 600), crop=0.4)
    assert picture.cut > 0.1
    assert np.hypot(picture.centre[0] - 400, picture.centre[1] - 300) > 0.35 * 2 * picture.radius
    assert (
        synthetic.picture(10, size=(800, 600), field=1.08).cut > 0.01
    )  # cut top and bottom by design


def test_the_degradations_also_apply_to_a_finished_picture():
    image = synthetic.fundus(11, size=(640, 480))
    for degraded in (
        synthetic.blur(image, 4),
        synthetic.exposure(image, 0.5),
        synthetic.glare(image, 0.1),
        synthetic.low_contrast(image, 0.5),
        synthetic.crop(image, 0.3),
    ):
        assert degraded.size == image.size
        assert np.abs(pixels(degraded) - pixels(image)).mean() > 1


def test_it_refuses_an_eye_it_does_not_know():
    with pytest.raises(ValueError, match="eye"):
        synthetic.fundus(0, eye="both")


def test_it_refuses_a_centre_it_does_not_know():
    with pytest.raises(ValueError, match="centre"):
        synthetic.fundus(0, centre="fovea")


def test_a_3000_px_picture_is_drawn_in_a_few_seconds():
    import time

    started = time.perf_counter()
    synthetic.fundus(12, size=(3000, 2250))
    assert time.perf_counter() - started < 8
