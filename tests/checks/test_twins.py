"""The near-duplicate check: resized, re-encoded or slightly cropped copies of an earlier image of
the same hospital are linked and flagged; different eyes, other hospitals and blank pictures are
not; two twins checked at once end with the later one linked."""

import functools
import io
import itertools

import numpy as np
import pytest
from PIL import Image as PILImage

from fundushub.checks import synthetic, twins
from fundushub.checks.models import ImageCheck, PerceptualHash
from fundushub.checks.runner import load_subject, run_checks
from fundushub.store.models import Image
from tests.conftest import store_image

SIZE = (1024, 768)


@functools.cache
def picture(seed: int) -> PILImage.Image:
    return synthetic.fundus(seed, eye="right" if seed % 2 else "left", size=SIZE)


def jpeg(im: PILImage.Image, quality=90) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality)
    return out.getvalue()


def resized(seed, factor=0.5, quality=75) -> bytes:
    im = picture(seed)
    return jpeg(im.resize((int(im.width * factor), int(im.height * factor))), quality)


def cropped_edges(seed, share=0.04) -> bytes:
    im = picture(seed)
    w, h = im.size
    box = (int(w * share), int(h * share), int(w * (1 - share)), int(h * (1 - share)))
    return jpeg(im.crop(box), 85)


def check(image) -> ImageCheck:
    return run_checks(image, [twins.NAME])[twins.NAME]


def stored(world, seed, data=None, **fields):
    return store_image(
        world, seed, data=data if data is not None else jpeg(picture(seed)), **fields
    )


def test_it_links_a_resized_re_encoded_copy_to_the_earlier_image(world):
    original = stored(world, 1)
    check(original)
    check(stored(world, 2))  # another eye, in between
    copy = stored(world, 3, data=resized(1))
    row = check(copy)
    assert row.verdict == "flag" and row.flagged
    assert row.twin_id == original.pk
    assert row.reason.startswith(f"Looks like image {str(original.pk)[:8]} (distance ")
    assert row.reason.endswith("/256): a resized, re-encoded or cropped copy?")
    assert row.values["distance"] <= twins.TWIN_DISTANCE


def test_it_links_a_copy_with_its_edges_cropped(world):
    original = stored(world, 5)
    check(original)
    row = check(stored(world, 6, data=cropped_edges(5)))
    assert row.twin_id == original.pk


def test_it_names_the_twin_by_id_only_never_by_file_name_or_subject(world):
    original = stored(world, 7, original_filename="SMITH_JOHN_1954.jpg", subject_identifier="X-1")
    check(original)
    row = check(stored(world, 8, data=resized(7)))
    assert row.twin_id == original.pk
    assert "SMITH" not in row.reason and "X-1" not in row.reason


def test_different_eyes_of_one_hospital_pass(world):
    for seed in (11, 12, 13):  # 11 and 13 are both right eyes
        row = check(stored(world, seed))
        assert row.verdict == "pass" and not row.flagged
        assert row.twin_id is None and row.reason == ""


def test_it_never_links_an_image_of_another_hospital(world):
    check(stored(world, 15))
    copy = stored(world, 16, data=resized(15), lab_unit=world.outpatients, user=world.bob)
    assert check(copy).twin_id is None


def test_rows_sharing_the_same_bytes_are_not_near_duplicates(world):
    # Demo and load-test rows share pictures under md5s of their own.
    first = stored(world, 45)
    check(first)
    fields = {f.attname: getattr(first, f.attname) for f in Image._meta.concrete_fields}
    fields.update(id=None, md5="f" * 32)
    fields.pop("created_at")
    second = Image.objects.create(**fields)
    assert check(second).twin_id is None


def test_an_earlier_image_is_not_linked_to_a_later_copy(world):
    original = stored(world, 17)
    copy = stored(world, 18, data=resized(17))
    check(copy)  # the copy is checked first: the original has no hash yet
    assert check(original).twin_id is None
    assert check(copy).twin_id == original.pk  # checked again, it finds the original


def test_it_links_the_nearest_earlier_twin(world):
    original = stored(world, 19)
    check(original)
    small = stored(world, 20, data=resized(19, factor=0.4, quality=40))
    check(small)
    row = check(stored(world, 21, data=jpeg(picture(19), quality=60)))
    assert row.twin_id == original.pk  # nearer than the small, rough copy


def test_it_keeps_the_hash_with_its_quarters_for_the_hospital(world):
    image = stored(world, 23)
    row = check(image)
    kept = PerceptualHash.objects.get(image=image)
    value = twins.unsigned(kept.value)
    assert f"{value:016x}" == row.values["hash"]
    assert [kept.q0, kept.q1, kept.q2, kept.q3] == [(value >> (16 * i)) & 0xFFFF for i in range(4)]
    assert kept.hospital_id == world.st_lucia.pk
    assert len(row.values["detail"]) == 64
    assert row.values["candidates"] == 0


def test_running_again_replaces_the_hash(world):
    image = stored(world, 25)
    check(image)
    check(image)
    assert PerceptualHash.objects.filter(image=image).count() == 1
    assert ImageCheck.objects.filter(image=image, name=twins.NAME).count() == 1


def test_of_two_twins_checked_at_once_the_later_links_the_earlier(world):
    first = stored(world, 27)
    second = stored(world, 28, data=resized(27))
    a = twins.fingerprint(load_subject(first).rgb)
    b = twins.fingerprint(load_subject(second).rgb)
    # Both workers keep their hash before either looks for twins.
    twins.store(first, a)
    twins.store(second, b)
    assert twins.nearest_earlier(first, a)[0] is None
    assert twins.nearest_earlier(second, b)[0] == first.pk


def test_a_hash_kept_without_its_detail_is_not_compared(world):
    first = stored(world, 29)
    check(first)
    ImageCheck.objects.filter(image=first).update(values={"hash": "0"})
    assert check(stored(world, 30, data=resized(29))).twin_id is None


def test_an_image_checked_by_an_older_version_is_not_compared(world):
    first = stored(world, 31)
    check(first)
    ImageCheck.objects.filter(image=first).update(version=twins.VERSION - 1)
    assert check(stored(world, 32, data=resized(31))).twin_id is None


def test_an_image_moved_to_another_hospital_is_not_linked(world):
    first = stored(world, 33)
    check(first)
    Image.objects.filter(pk=first.pk).update(hospital=world.northgate, lab_unit=world.outpatients)
    assert check(stored(world, 34, data=resized(33))).twin_id is None


def test_it_compares_at_most_max_candidates(world, monkeypatch):
    for seed in (35, 36):
        check(stored(world, seed))
    image = stored(world, 37)
    fp = twins.fingerprint(load_subject(image).rgb)
    PerceptualHash.objects.update(q0=fp.quarters()[0])  # both look like candidates
    assert twins.nearest_earlier(image, fp)[2] == 2
    monkeypatch.setattr(twins, "MAX_CANDIDATES", 1)
    assert twins.nearest_earlier(image, fp)[2] == 1


def test_it_reads_the_details_of_at_most_max_details_candidates(world, monkeypatch):
    original = stored(world, 38)
    check(original)
    check(stored(world, 39, data=resized(38, factor=0.4, quality=40)))  # a rougher copy
    copy = stored(world, 40, data=jpeg(picture(38), quality=70))
    fp = twins.fingerprint(load_subject(copy).rgb)
    assert twins.nearest_earlier(copy, fp)[0] == original.pk
    PerceptualHash.objects.update(q0=fp.quarters()[0])  # both are candidates
    inverse = twins.unsigned(~fp.value)  # all 64 bits apart
    PerceptualHash.objects.filter(image=original).update(
        value=inverse - 2**64 if inverse >= 2**63 else inverse
    )
    monkeypatch.setattr(twins, "CANDIDATE_DISTANCE", 64)
    monkeypatch.setattr(twins, "MAX_DETAILS", 1)  # only the closest 64-bit hash is read on
    assert twins.nearest_earlier(copy, fp)[0] != original.pk


def test_a_picture_without_detail_is_not_compared(world):
    black = jpeg(PILImage.new("RGB", (640, 480)))
    grey = jpeg(PILImage.new("RGB", (640, 480), (90, 90, 90)))
    rows = [check(stored(world, n, data=data)) for n, data in ((41, black), (42, grey))]
    for row in rows:
        assert row.verdict == "pass" and row.twin_id is None
        assert row.reason == "Too little detail to compare with other images"
        assert row.values == {"hash": None}
    assert not PerceptualHash.objects.exists()


def test_a_picture_that_lost_its_detail_loses_its_hash(world, monkeypatch):
    image = stored(world, 43)
    check(image)
    monkeypatch.setattr(twins, "MIN_DETAIL", 1e9)
    check(image)
    assert not PerceptualHash.objects.filter(image=image).exists()


def test_the_hash_kept_is_signed_as_a_64_bit_column_holds_it():
    fp = twins.Fingerprint(np.ones(64, bool), np.zeros(256, bool))
    assert fp.value == 2**64 - 1 and fp.signed == -1
    assert twins.unsigned(fp.signed) == fp.value
    assert fp.quarters() == [0xFFFF] * 4
    assert fp.hex() == "f" * 16 and fp.detail_hex() == "0" * 64


# The fingerprint itself, on pictures in memory (no database): its margins on both sides.


def _fp(im: PILImage.Image):
    return twins.fingerprint(np.asarray(im.convert("RGB")))


def _recoded(im, quality):
    return PILImage.open(io.BytesIO(jpeg(im, quality)))


COPIES = {
    "half size": lambda im: _recoded(im.resize((im.width // 2, im.height // 2)), 85),
    "JPEG quality 50": lambda im: _recoded(im, 50),
    "edges cropped 5 %": lambda im: _recoded(
        im.crop((im.width // 20, im.height // 20, im.width * 19 // 20, im.height * 19 // 20)), 90
    ),
    "one side cropped 8 %": lambda im: _recoded(im.crop((im.width * 8 // 100, 0, *im.size)), 90),
}


@pytest.mark.parametrize("copy", list(COPIES))
def test_a_copy_stays_well_within_the_twin_distance(copy):
    for seed in (51, 52):
        im = picture(seed)
        d = twins.distance(_fp(im).detail, _fp(COPIES[copy](im)).detail)
        assert d <= twins.TWIN_DISTANCE // 2, (copy, seed, d)


def test_different_eyes_stay_well_beyond_the_twin_distance():
    prints = [_fp(picture(seed)) for seed in range(53, 59)]
    for a, b in itertools.combinations(prints, 2):
        assert twins.distance(a.detail, b.detail) >= 1.5 * twins.TWIN_DISTANCE


def test_a_copy_shares_a_quarter_of_the_indexed_hash():
    im = picture(51)
    a, b = _fp(im), _fp(COPIES["half size"](im))
    assert any(x == y for x, y in zip(a.quarters(), b.quarters(), strict=True))
    assert twins.distance(a.value, b.value) <= twins.CANDIDATE_DISTANCE


def test_burned_in_text_outside_the_field_does_not_move_the_field():
    from PIL import ImageDraw

    im = picture(51).copy()
    plain = twins._field_of_view(np.asarray(im))
    ImageDraw.Draw(im).rectangle((5, 5, 300, 60), fill=(255, 255, 255))
    stamped = twins._field_of_view(np.asarray(im))
    assert all(abs(p - s) < 3 for p, s in zip(plain, stamped, strict=True))
