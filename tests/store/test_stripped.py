"""Metadata stripping: byte-level, lossless, and nothing identifying left for Pillow to find."""

import functools
import io
import struct
import zlib

import pytest
from PIL import Image as PILImage
from PIL import ImageCms, ImageOps, PngImagePlugin

from fundushub.store import stripped
from fundushub.store.sniff import JPEG, PNG

PATIENT = "Jane Patient 1961-04-02"
# The dirty JPEG's MPF segment points at no real second picture; Pillow says so.
pytestmark = pytest.mark.filterwarnings("ignore:Image appears to be a malformed MPO file")

XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>XMP-Creator-Jane</dc:creator>'
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def picture(size=(96, 64), mode="RGB"):
    im = PILImage.new(mode, size)
    for x in range(size[0]):
        for y in range(size[1]):
            im.putpixel((x, y), (x * 3 % 256, y * 5 % 256, (x * y) % 256)[: len(mode)] or 0)
    return im


def exif_with_patient_data(orientation=None):
    exif = PILImage.Exif()
    exif[0x010E] = PATIENT  # ImageDescription
    exif[0x010F] = "FundusCam Maker"
    exif[0x013B] = "Dr Artist"  # Artist
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 30.0, 12.5)
    gps[3], gps[4] = "W", (0.0, 7.0, 39.9)
    if orientation:
        exif[0x0112] = orientation
    return exif.tobytes()


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def iptc_segment() -> bytes:
    record = b"\x1c\x02\x05" + len(PATIENT).to_bytes(2, "big") + PATIENT.encode()  # 2:05 title
    resource = b"8BIM\x04\x04\x00\x00" + len(record).to_bytes(4, "big") + record
    return segment(0xED, b"Photoshop 3.0\x00" + resource)


def after_soi(jpeg: bytes, *segments: bytes) -> bytes:
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def encode_jpeg(im, **params) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", quality=90, **params)
    return out.getvalue()


@functools.cache  # the profile's header records when it was made: one per run
def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def loaded(data: bytes):
    im = PILImage.open(io.BytesIO(data))
    im.load()
    return im


def assert_same_pixels(a: bytes, b: bytes):
    left, right = loaded(a), loaded(b)
    assert (left.mode, left.size) == (right.mode, right.size)
    assert left.tobytes() == right.tobytes()


def assert_no_metadata(data: bytes):
    im = loaded(data)
    assert not dict(im.getexif())
    for key in (
        "exif",
        "xmp",
        "XML:com.adobe.xmp",
        "comment",
        "photoshop",
        "Raw profile type exif",
    ):
        assert key not in im.info, key
    if im.format == "PNG":
        assert not im.text
    if im.format == "JPEG":
        assert {name for name, _ in im.applist} <= {"APP0", "APP2", "APP14"}
    for secret in (PATIENT.encode(), b"XMP-Creator-Jane", b"Dr Artist", b"FundusCam", b"secret"):
        assert secret not in data


def scan_data(jpeg: bytes) -> bytes:
    """From the first SOS marker to EOI: the part that must be copied untouched."""
    return jpeg[jpeg.index(b"\xff\xda") : jpeg.rindex(b"\xff\xd9") + 2]


def make_dirty_jpeg(size=(96, 64)) -> bytes:
    """A JPEG carrying EXIF (patient name, GPS), XMP, IPTC, a comment, vendor APPn and trailing bytes."""
    base = encode_jpeg(picture(size), exif=exif_with_patient_data(), icc_profile=srgb_profile())
    return after_soi(
        base,
        segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP),
        iptc_segment(),
        segment(0xFE, b"secret comment: " + PATIENT.encode()),
        segment(0xE5, b"vendor data secret"),
        segment(0xE2, b"MPF\x00secret"),  # multi-picture index: its pictures follow EOI
    ) + (b"\xff\xd8secret trailing picture" * 4)


@pytest.fixture
def dirty_jpeg():
    return make_dirty_jpeg()


def test_a_jpeg_loses_exif_xmp_iptc_comments_and_trailing_bytes_but_keeps_its_pixels(dirty_jpeg):
    before = loaded(dirty_jpeg)
    assert before.getexif()[0x010E] == PATIENT and "comment" in before.info  # the test is real
    cleaned = stripped.strip(dirty_jpeg, JPEG)
    assert_no_metadata(cleaned)
    assert_same_pixels(dirty_jpeg, cleaned)
    assert cleaned.endswith(b"\xff\xd9")


def test_the_entropy_coded_data_is_copied_byte_for_byte(dirty_jpeg):
    cleaned = stripped.strip(dirty_jpeg, JPEG)
    assert scan_data(cleaned) == scan_data(
        dirty_jpeg[: dirty_jpeg.index(b"\xff\xd9\xff\xd8secret") + 2]
    )


def test_the_colour_profile_and_jfif_header_are_kept(dirty_jpeg):
    im = loaded(stripped.strip(dirty_jpeg, JPEG))
    assert im.info["icc_profile"] == srgb_profile()
    assert "jfif" in im.info


def test_a_cmyk_jpeg_keeps_its_adobe_segment_so_its_colours_decode_the_same():
    cmyk = encode_jpeg(picture(mode="CMYK"), exif=exif_with_patient_data())
    cleaned = stripped.strip(cmyk, JPEG)
    assert "adobe" in loaded(cleaned).info
    assert_no_metadata(cleaned)
    assert_same_pixels(cmyk, cleaned)


def test_progressive_jpegs_with_restart_markers_and_fill_bytes_keep_every_scan():
    data = encode_jpeg(
        picture((200, 120)), progressive=True, exif=exif_with_patient_data(), comment=b"secret"
    )
    striped = encode_jpeg(picture((200, 120)), restart_marker_blocks=2, comment=b"secret")
    assert data.count(b"\xff\xda") > 1 and striped.count(b"\xff\xd0") > 0
    # Fill bytes (extra 0xFF) before a marker are legal; decoders skip them.
    padded = striped.replace(b"\xff\xdb", b"\xff\xff\xff\xdb", 1)
    for original in (data, striped, padded):
        cleaned = stripped.strip(original, JPEG)
        assert_no_metadata(cleaned)
        assert_same_pixels(original, cleaned)
    assert scan_data(stripped.strip(striped, JPEG)) == scan_data(striped)


def test_a_jfif_header_carrying_a_thumbnail_loses_the_thumbnail():
    base = encode_jpeg(picture())
    jfif_end = 4 + int.from_bytes(base[4:6], "big")
    thumb = b"JFIF\x00\x01\x02\x00\x00\x01\x00\x01\x02\x02" + b"\x7f" * 12  # 2x2 RGB thumbnail
    data = base[:2] + segment(0xE0, thumb) + base[jfif_end:]
    cleaned = stripped.strip(data, JPEG)
    assert cleaned[2:20] == b"\xff\xe0\x00\x10" + thumb[:12] + b"\x00\x00"
    assert_same_pixels(data, cleaned)


def test_an_exif_orientation_survives_as_the_only_tag():
    data = encode_jpeg(picture(), exif=exif_with_patient_data(orientation=6))
    cleaned = stripped.strip(data, JPEG)
    im = loaded(cleaned)
    assert dict(im.getexif()) == {0x0112: 6}
    assert PATIENT.encode() not in cleaned
    assert ImageOps.exif_transpose(im).size == (64, 96)
    assert_same_pixels(data, cleaned)


def test_an_xmp_orientation_is_kept_the_way_pillow_reads_it():
    xmp = b'<x:xmpmeta><rdf:Description tiff:Orientation="8" dc:creator="secret"/></x:xmpmeta>'
    data = after_soi(
        encode_jpeg(picture()), segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp)
    )
    assert loaded(data).getexif().get(0x0112) == 8
    cleaned = stripped.strip(data, JPEG)
    assert dict(loaded(cleaned).getexif()) == {0x0112: 8}
    assert b"secret" not in cleaned and "xmp" not in loaded(cleaned).info


def test_a_normal_orientation_adds_nothing():
    data = encode_jpeg(picture(), exif=exif_with_patient_data(orientation=1))
    assert b"Exif" not in stripped.strip(data, JPEG)


def dirty_png(**params):
    info = PngImagePlugin.PngInfo()
    info.add_text("Patient", PATIENT)
    info.add_text("Comment", "secret", zip=True)
    info.add_itxt("Description", "secret " + PATIENT, lang="en", tkey="Beschreibung", zip=False)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode(), zip=True)
    info.add(b"tIME", struct.pack(">HBBBBB", 2024, 5, 6, 7, 8, 9))
    info.add(b"prVt", b"secret vendor chunk")
    out = io.BytesIO()
    picture().save(
        out, "PNG", pnginfo=info, exif=exif_with_patient_data(), dpi=(300, 300), **params
    )
    return out.getvalue() + b"secret trailing bytes"


def test_a_png_loses_text_itxt_exif_time_and_private_chunks_but_keeps_its_pixels():
    data = dirty_png()
    before = loaded(data)
    assert before.text["Patient"] == PATIENT and before.getexif()[0x010E] == PATIENT
    cleaned = stripped.strip(data, PNG)
    assert_no_metadata(cleaned)
    assert_same_pixels(data, cleaned)
    for kind in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"prVt"):
        assert kind not in cleaned
    assert cleaned.endswith(b"IEND\xaeB`\x82")


def test_a_png_keeps_its_colour_and_density_chunks():
    data = dirty_png(icc_profile=srgb_profile())
    im = loaded(stripped.strip(data, PNG))
    assert im.info["icc_profile"] == srgb_profile()
    assert round(im.info["dpi"][0]) == 300


def test_a_palette_png_keeps_its_palette_and_transparency():
    im = picture().convert("P")
    out = io.BytesIO()
    im.save(out, "PNG", transparency=3, pnginfo=_text_info())
    data = out.getvalue()
    cleaned = stripped.strip(data, PNG)
    assert loaded(cleaned).info["transparency"] == 3
    assert_same_pixels(data, cleaned)
    assert_no_metadata(cleaned)


def _text_info():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret")
    return info


def test_a_png_exif_orientation_survives_alone_and_valid():
    exif = PILImage.Exif()
    exif[0x0112], exif[0x010E] = 3, PATIENT
    out = io.BytesIO()
    picture().save(out, "PNG", exif=exif.tobytes())
    cleaned = stripped.strip(out.getvalue(), PNG)
    assert dict(loaded(cleaned).getexif()) == {0x0112: 3}
    assert PATIENT.encode() not in cleaned
    # The new chunk's CRC is right.
    body_at = cleaned.index(b"eXIf")
    length = int.from_bytes(cleaned[body_at - 4 : body_at], "big")
    body = cleaned[body_at + 4 : body_at + 4 + length]
    crc = cleaned[body_at + 4 + length : body_at + 8 + length]
    assert zlib.crc32(b"eXIf" + body).to_bytes(4, "big") == crc


@pytest.mark.parametrize(
    "data, content_type",
    [
        (b"\xff\xd8\xff\xe1\x00\x40short", JPEG),
        (b"\xff\xd8\xff\xd8", JPEG),
        (b"GIF89a", JPEG),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR", PNG),
    ],
)
def test_bytes_it_cannot_follow_are_refused_not_guessed(data, content_type):
    with pytest.raises(stripped.MalformedImage):
        stripped.strip(data, content_type)


def test_an_unparseable_file_that_still_decodes_is_served_as_a_lossless_png_of_its_pixels():
    data = dirty_png()
    cut = data[: data.index(b"IEND") - 2]  # the IEND chunk cut short: Pillow still decodes it
    with pytest.raises(stripped.MalformedImage):
        stripped.strip(cut, PNG)
    served = stripped.clean_copy(cut, PNG)
    assert served.content_type == PNG
    assert_no_metadata(served.data)
    assert_same_pixels(cut, served.data)


def test_a_clean_copy_of_a_good_file_is_the_stripped_bytes(dirty_jpeg):
    served = stripped.clean_copy(dirty_jpeg, JPEG)
    assert served == stripped.Cleaned(stripped.strip(dirty_jpeg, JPEG), JPEG)


def test_stripping_twice_changes_nothing(dirty_jpeg):
    once = stripped.strip(dirty_jpeg, JPEG)
    assert stripped.strip(once, JPEG) == once
    png = stripped.strip(dirty_png(), PNG)
    assert stripped.strip(png, PNG) == png


def _with_chunk(png: bytes, kind: bytes, body: bytes) -> bytes:
    """The PNG with one more chunk before IEND."""
    at = png.index(b"IEND") - 4
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return png[:at] + len(body).to_bytes(4, "big") + kind + body + crc.to_bytes(4, "big") + png[at:]


def _plain_png() -> bytes:
    out = io.BytesIO()
    picture().save(out, "PNG")
    return out.getvalue()


def test_a_small_png_with_a_compressed_text_bomb_is_not_inflated(monkeypatch):
    bomb = zlib.compress(b"\x00" * (200 * 2**20), 9)  # 200 MB of text in ~200 kB
    body = b"XML:com.adobe.xmp\x00\x01\x00" + bomb  # iTXt without language or translated key
    data = _with_chunk(_plain_png(), b"iTXt", body)
    inflated = []
    real = zlib.decompressobj

    def watched():
        d = real()
        inflated.append(d)
        return d

    monkeypatch.setattr(stripped.zlib, "decompressobj", watched)
    cleaned = stripped.strip(data, PNG)
    assert b"iTXt" not in cleaned and len(inflated) == 1
    assert_same_pixels(data, cleaned)


def test_text_chunks_other_than_xmp_and_exif_profiles_are_never_inflated(monkeypatch):
    data = _with_chunk(_plain_png(), b"zTXt", b"Comment\x00\x00" + zlib.compress(b"x" * 1000))
    monkeypatch.setattr(stripped, "_inflate", lambda data: pytest.fail("inflated a comment"))
    assert b"zTXt" not in stripped.strip(data, PNG)


def test_a_png_with_an_unknown_critical_chunk_is_served_as_pixels_only():
    data = _with_chunk(_plain_png(), b"PATI", PATIENT.encode())
    with pytest.raises(stripped.MalformedImage):
        stripped.strip(data, PNG)
    served = stripped.clean_copy(data, PNG)
    assert PATIENT.encode() not in served.data
    assert_same_pixels(_plain_png(), served.data)


def test_an_adobe_segment_keeps_only_its_header():
    adobe = segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01" + PATIENT.encode())
    data = after_soi(encode_jpeg(picture()), adobe)
    cleaned = stripped.strip(data, JPEG)
    assert PATIENT.encode() not in cleaned
    assert b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x01" in cleaned
