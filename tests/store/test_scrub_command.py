"""fundushub manage scrub: re-reads the stored bytes, checks their SHA-256, reports what is missing
or corrupt with the rows it breaks, quarantines instead of deleting, and goes on where it stopped."""

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command

from fundushub.camera.models import CameraFile, CameraSession, Subject
from fundushub.lib import throttle
from fundushub.store import blobs
from fundushub.store.scrub import sampled
from tests.conftest import fundus_png, store_image


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """The scrub keeps its checkpoint in the data folder: this test's own."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    return settings.DATA_DIR


def scrub(*args) -> tuple[str, int]:
    """(what it printed, its exit status)."""
    out = io.StringIO()
    try:
        call_command("scrub", *args, stdout=out)
    except CommandError as e:
        return out.getvalue() + str(e), e.returncode
    return out.getvalue(), 0


@pytest.fixture
def opened(monkeypatch):
    """The keys opened (the test clears it before the scrub: storing images reads too)."""
    keys = []
    real = blobs.open_blob

    def spy(key):
        keys.append(key)
        return real(key)

    monkeypatch.setattr(blobs, "open_blob", spy)
    return keys


def add_edited_variant(image):
    png = fundus_png(7)
    sha = hashlib.sha256(png).hexdigest()
    blobs.write_bytes(blobs.edited_key(sha), png)
    blobs.write_bytes(blobs.thumbnail_key(sha), b"a thumbnail")
    image.edited_sha256 = sha
    image.save(update_fields=["edited_sha256"])
    return image


def test_a_clean_store_checks_every_original_and_variant_and_exits_0(world, opened):
    images = [store_image(world, seed) for seed in range(3)]
    add_edited_variant(images[0])
    opened.clear()

    out, status = scrub()

    assert status == 0, out
    assert "Checked 4 file(s)" in out and "0 corrupt, 0 unreadable, 0 missing" in out
    expected = {i.original_key for i in images} | {images[0].edited_key}
    assert sorted(opened) == sorted(expected)


def test_a_flipped_byte_is_reported_with_its_row_and_quarantined_never_deleted(
    world, isolated_storage
):
    image, other = store_image(world, 1), store_image(world, 2)
    path = isolated_storage / image.original_key
    damaged = bytearray(path.read_bytes())
    damaged[200] ^= 0x01
    path.write_bytes(bytes(damaged))

    out, status = scrub()

    assert status == 1
    assert f"CORRUPT {image.original_key}" in out
    assert f"image {image.pk} (fundus-1.jpg)" in out
    assert f"moved to quarantine/{image.original_key}" in out
    assert not path.exists()
    assert (isolated_storage / "quarantine" / image.original_key).read_bytes() == damaged
    assert str(other.pk) not in out and blobs.exists(other.original_key)


def test_without_quarantine_a_corrupt_blob_is_reported_and_left_where_it_is(
    world, isolated_storage
):
    image = store_image(world, 1)
    path = isolated_storage / image.original_key
    path.write_bytes(path.read_bytes()[:-1])

    out, status = scrub("--no-quarantine")

    assert status == 1 and "left in place" in out
    assert path.exists() and not (isolated_storage / "quarantine").exists()


def test_a_missing_original_and_a_missing_thumbnail_are_reported_with_their_rows(
    world, isolated_storage
):
    lost, thumbless, fine = (store_image(world, seed) for seed in range(3))
    (isolated_storage / lost.original_key).unlink()
    (isolated_storage / thumbless.thumbnail_key).unlink()

    out, status = scrub()

    assert status == 1
    assert f"MISSING {lost.original_key}\n    referred to by: image {lost.pk}" in out
    assert f"MISSING THUMBNAIL {thumbless.thumbnail_key}" in out
    assert f"image {thumbless.pk}" in out
    assert str(fine.pk) not in out
    assert "1 missing, 1 missing thumbnail" in out


def test_a_camera_file_whose_bytes_are_gone_is_named(world):
    subject = Subject.objects.create(subject_identifier="105-10-0989-3", site=world.st_lucia)
    session = CameraSession.objects.create(subject=subject, hospital=world.st_lucia)
    report = CameraFile.objects.create(
        session=session,
        file_type="report",
        original_filename="report.pdf",
        size=3,
        sha256=hashlib.sha256(b"pdf").hexdigest(),
        md5=hashlib.md5(b"pdf").hexdigest(),
        mime="application/pdf",
        capture_datetime="2025-01-02T03:04:05Z",
    )

    out, status = scrub()

    assert status == 1
    assert f"camera file {report.pk} (report.pdf, session {session.pk})" in out


def test_a_sample_takes_about_that_fraction_and_the_same_keys_for_the_same_seed():
    keys = [blobs.original_key(hashlib.sha256(str(i).encode()).hexdigest()) for i in range(2000)]
    half = [k for k in keys if sampled(k, 0.5, seed=0)]
    assert 900 < len(half) < 1100
    assert half == [k for k in keys if sampled(k, 0.5, seed=0)]
    assert half != [k for k in keys if sampled(k, 0.5, seed=1)]


def test_sample_half_checks_exactly_the_sampled_half(world, opened):
    images = [store_image(world, seed) for seed in range(12)]
    chosen = sorted(i.original_key for i in images if sampled(i.original_key, 0.5, 0))
    opened.clear()

    out, status = scrub("--sample", "0.5")
    assert status == 0, out
    assert sorted(opened) == chosen
    assert 0 < len(chosen) < len(images)
    assert f"Checked {len(chosen)} file(s) (a 0.5 sample)" in out

    opened.clear()
    scrub("--sample", "0.5")
    assert sorted(opened) == chosen


def test_a_stopped_scrub_goes_on_after_the_last_checked_file_without_reading_it_again(
    world, monkeypatch
):
    for seed in range(6):
        store_image(world, seed)
    real, opened = blobs.open_blob, []

    def interrupted_at_the_fourth(key):
        if len(opened) == 3:
            raise KeyboardInterrupt
        opened.append(key)
        return real(key)

    monkeypatch.setattr(blobs, "open_blob", interrupted_at_the_fourth)
    out, status = scrub()
    assert status == 130 and "Run scrub again to go on" in out
    first = list(opened)

    opened.clear()
    monkeypatch.setattr(blobs, "open_blob", lambda key: opened.append(key) or real(key))
    out, status = scrub()

    assert status == 0, out
    assert "Going on with the scrub" in out
    assert len(opened) == 3 and not set(opened) & set(first)
    assert "Checked 6 file(s)" in out

    opened.clear()
    scrub("--restart")
    assert len(opened) == 6


def test_a_finished_scrub_starts_a_new_pass_next_time(world, opened):
    store_image(world, 1)
    scrub()
    opened.clear()
    out, _ = scrub()
    assert len(opened) == 1 and "Going on" not in out


class FakeClock:
    """Time that passes only when the throttle sleeps: what it asks for is all we measure."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_sleeps_as_long_as_the_bytes_read_take_at_that_rate(world, monkeypatch):
    images = [store_image(world, seed) for seed in range(4)]
    clock = FakeClock()
    monkeypatch.setattr(throttle, "monotonic", clock.monotonic)
    monkeypatch.setattr(throttle, "sleep", clock.sleep)

    out, status = scrub("--rate", "2")

    assert status == 0, out
    # Each blob is one read here (smaller than a chunk): a sleep of its size at 2 MB/s.
    expected = sorted(i.size / 2_000_000 for i in images)
    assert sorted(clock.sleeps) == pytest.approx(expected)
    total = sum(i.size for i in images)
    assert total / (clock.now - 1000.0) == pytest.approx(2_000_000)


def test_without_a_rate_it_never_sleeps(world, monkeypatch):
    store_image(world, 1)
    clock = FakeClock()
    monkeypatch.setattr(throttle, "sleep", clock.sleep)
    scrub()
    assert clock.sleeps == []


def test_a_sample_outside_zero_to_one_is_refused(db):
    with pytest.raises(CommandError, match="fraction"):
        call_command("scrub", "--sample", "1.5", stdout=io.StringIO())
