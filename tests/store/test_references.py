"""images/references.py: the store asks one registry who still refers to a blob; the ways in
(uploads, camera) fill it from their AppConfig.ready(), so the store imports neither."""

import pytest

from fundushub.camera import references as camera_references
from fundushub.store import references
from fundushub.uploads import references as upload_references
from tests.conftest import store_image

pytestmark = pytest.mark.django_db


def test_the_ways_in_register_their_answers_when_the_apps_load():
    assert upload_references.referenced in references._referrers
    assert camera_references.referenced in references._referrers


def test_it_answers_for_the_stores_own_rows(world):
    image = store_image(world, 3)
    other = "f" * 64
    assert references.referenced("originals", {image.sha256, other}) == {image.sha256}
    assert references.referenced("thumbs", [image.sha256]) == {image.sha256}
    assert references.referenced("edited", [image.sha256]) == set()


def test_a_registered_referrer_keeps_what_it_names_and_nothing_else(monkeypatch):
    monkeypatch.setattr(references, "_referrers", [])
    references.register(lambda kind, shas: {"a", "outside"} if kind == "staging" else set())
    assert references.referenced("staging", ["a", "b"]) == {"a"}
    assert references.referenced("originals", ["a"]) == set()


def test_it_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="unknown blob kind"):
        references.referenced("variants", ["a"])
