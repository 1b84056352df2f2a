"""A synthetic fundus photograph as a baseline JPEG, in pure Python.

The simulator must not pull Pillow into the watchdog (its only dependencies are watchdog and
requests), so this is a small baseline encoder: YCbCr 4:2:0, the standard quantisation and
Huffman tables of the JPEG specification (Annex K). Encoding costs up to a second per picture, so
pictures are cached per (eye, variant, size) and each file is made unique with a COM segment:
different bytes and checksum, same picture.
"""

import functools
import math
import random

# Annex K.1 quantisation tables (natural order), scaled by quality as libjpeg does.
_LUMA_Q = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_CHROMA_Q = (
    17,
    18,
    24,
    47,
    *[99] * 4,
    18,
    21,
    26,
    66,
    *[99] * 4,
    24,
    26,
    56,
    *[99] * 5,
    47,
    66,
    *[99] * 38,
)

# Annex K.3 Huffman tables: (code counts per length 1..16, symbol values).
_DC_LUMA = (bytes([0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]), bytes(range(12)))
_DC_CHROMA = (bytes([0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]), bytes(range(12)))
_AC_LUMA = (
    bytes([0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125]),
    bytes.fromhex(
        "01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a"
        "25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a"
        "838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9ca"
        "d2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa"
    ),
)
_AC_CHROMA = (
    bytes([0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119]),
    bytes.fromhex(
        "000102031104052131061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f117"
        "18191a262728292a35363738393a434445464748494a535455565758595a636465666768696a737475767778"
        "797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7"
        "c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9fa"
    ),
)


def _zigzag() -> list[int]:
    """Natural-order index of each zigzag position."""
    order = sorted(
        ((r, c) for r in range(8) for c in range(8)),
        key=lambda rc: (rc[0] + rc[1], rc[1] if (rc[0] + rc[1]) % 2 == 0 else rc[0]),
    )
    return [r * 8 + c for r, c in order]


ZIGZAG = _zigzag()
# DCT basis, one row per frequency: C[u][x] = c(u)/2 * cos((2x+1)u*pi/16).
_BASIS = [
    [(math.sqrt(0.5) if u == 0 else 1.0) / 2 * math.cos((2 * x + 1) * u * math.pi / 16)
     for x in range(8)]
    for u in range(8)
]  # fmt: skip


def _scaled(table, quality: int) -> list[int]:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(255, max(1, (q * scale + 50) // 100)) for q in table]


def _codes(spec) -> dict[int, tuple[int, int]]:
    """Canonical Huffman codes: symbol -> (code, length)."""
    counts, values = spec
    codes, code, k = {}, 0, 0
    for length, count in enumerate(counts, start=1):
        for _ in range(count):
            codes[values[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


class _BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.nbits = 0

    def write(self, value: int, length: int) -> None:
        self.acc = (self.acc << length) | (value & ((1 << length) - 1))
        self.nbits += length
        while self.nbits >= 8:
            self.nbits -= 8
            byte = (self.acc >> self.nbits) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)  # byte stuffing: 0xFF in entropy data is followed by 0x00
        self.acc &= (1 << self.nbits) - 1

    def flush(self) -> bytes:
        if self.nbits:
            self.write(0x7F, 7 - (self.nbits - 1) % 8)  # pad with 1-bits
        return bytes(self.out)


def _fdct_quantised(block: list[float], qtable: list[int]) -> list[int]:
    """2-D DCT of a level-shifted 8x8 block, quantised, in zigzag order."""
    first = block[0]
    if all(v == first for v in block):  # flat block (the black surround): DC only
        coeffs = [0] * 64
        coeffs[0] = round(8 * first / qtable[0])
        return coeffs
    rows = [block[i : i + 8] for i in range(0, 64, 8)]
    tmp = [
        [sum(b * r for b, r in zip(basis, row, strict=True)) for basis in _BASIS] for row in rows
    ]
    cols = list(zip(*tmp, strict=True))  # cols[u] = the u-th frequency of every row
    out = [0.0] * 64
    for v, basis in enumerate(_BASIS):
        for u in range(8):
            out[v * 8 + u] = sum(b * c for b, c in zip(basis, cols[u], strict=True))
    return [round(out[i] / qtable[i]) for i in ZIGZAG]


def _encode_block(bits, coeffs, prev_dc, dc_codes, ac_codes) -> int:
    diff = coeffs[0] - prev_dc
    size = abs(diff).bit_length()
    bits.write(*dc_codes[size])
    if size:
        bits.write(diff if diff > 0 else diff + (1 << size) - 1, size)
    run = 0
    for value in coeffs[1:]:
        if value == 0:
            run += 1
            continue
        while run > 15:
            bits.write(*ac_codes[0xF0])  # sixteen zeros
            run -= 16
        size = abs(value).bit_length()
        bits.write(*ac_codes[(run << 4) | size])
        bits.write(value if value > 0 else value + (1 << size) - 1, size)
        run = 0
    if run:
        bits.write(*ac_codes[0x00])  # end of block
    return coeffs[0]


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def encode_jpeg(width: int, height: int, planes, quality: int = 90) -> bytes:
    """Baseline JPEG from three full-resolution planes (Y, Cb, Cr: flat lists, row-major, 0..255)."""
    luma_q, chroma_q = _scaled(_LUMA_Q, quality), _scaled(_CHROMA_Q, quality)
    dc = {0: _codes(_DC_LUMA), 1: _codes(_DC_CHROMA)}
    ac = {0: _codes(_AC_LUMA), 1: _codes(_AC_CHROMA)}
    y_plane, cb_plane, cr_plane = planes

    def sample(plane, x, y):  # edge pixels repeat past the border
        return plane[min(y, height - 1) * width + min(x, width - 1)]

    bits = _BitWriter()
    prev = [0, 0, 0]
    for my in range(0, height, 16):
        for mx in range(0, width, 16):
            for by, bx in ((0, 0), (0, 8), (8, 0), (8, 8)):
                block = [
                    sample(y_plane, mx + bx + i % 8, my + by + i // 8) - 128 for i in range(64)
                ]
                prev[0] = _encode_block(bits, _fdct_quantised(block, luma_q), prev[0], dc[0], ac[0])
            for comp, plane in ((1, cb_plane), (2, cr_plane)):
                block = []
                for i in range(64):
                    x, y = mx + 2 * (i % 8), my + 2 * (i // 8)
                    total = sample(plane, x, y) + sample(plane, x + 1, y)
                    total += sample(plane, x, y + 1) + sample(plane, x + 1, y + 1)
                    block.append(total / 4 - 128)
                coeffs = _fdct_quantised(block, chroma_q)
                prev[comp] = _encode_block(bits, coeffs, prev[comp], dc[1], ac[1])

    dqt = b"\x00" + bytes(luma_q[i] for i in ZIGZAG) + b"\x01" + bytes(chroma_q[i] for i in ZIGZAG)
    sof = bytes([8]) + height.to_bytes(2, "big") + width.to_bytes(2, "big")
    sof += bytes([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
    dht = b"".join(
        bytes([cls_id]) + counts + values
        for cls_id, (counts, values) in (
            (0x00, _DC_LUMA),
            (0x10, _AC_LUMA),
            (0x01, _DC_CHROMA),
            (0x11, _AC_CHROMA),
        )
    )
    sos = bytes([3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0])
    return b"".join(
        [
            b"\xff\xd8",
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _segment(0xDB, dqt),
            _segment(0xC0, sof),
            _segment(0xC4, dht),
            _segment(0xDA, sos),
            bits.flush(),
            b"\xff\xd9",
        ]
    )


def _render(width: int, height: int, eye: str, variant: int):
    """A fundus: orange retina in a circular field, optic disc, macula and vessel arcades.

    The optic disc is drawn on the image's right for a right eye, on the left for a left eye,
    as fundus photographs are conventionally shown."""
    rng = random.Random(f"{eye}-{variant}")
    cx, cy, radius = width / 2, height / 2, 0.48 * min(width, height)
    side = 1 if eye == "right" else -1
    disc_x, disc_y, disc_r = cx + side * 0.26 * radius * 1.6, cy - 0.03 * height, 0.12 * radius
    mac_x, mac_y, mac_r = cx - side * 0.1 * radius, cy + 0.02 * height, 0.2 * radius
    tint = rng.uniform(-12, 12)

    darken = {}  # pixel index -> vessel darkness 0..1, drawn as dots along each curve
    for k in range(6):
        temporal = k < 4
        up = 1 if k % 2 == 0 else -1
        reach = (1.25 if temporal else 0.55) * radius * rng.uniform(0.85, 1.1)
        rise = (
            (0.55 if temporal else 0.45) * radius * rng.uniform(0.8, 1.15) * (0.7 if k >= 2 else 1)
        )
        steps = int(reach)
        for s in range(steps):
            t = s / steps
            x = disc_x - side * (reach * t if temporal else -reach * t)
            y = disc_y - up * rise * math.sin(t * math.pi * (0.8 if temporal else 0.5))
            thick = max(0.8, 2.6 * (1 - t) * (1 if k < 2 else 0.7) * radius / 200)
            span = int(thick) + 1
            for yy in range(int(y) - span, int(y) + span + 1):
                for xx in range(int(x) - span, int(x) + span + 1):
                    if (
                        0 <= xx < width
                        and 0 <= yy < height
                        and (xx - x) ** 2 + (yy - y) ** 2 <= thick**2
                    ):
                        darken[yy * width + xx] = 0.45

    y_plane, cb_plane, cr_plane = [], [], []
    for py in range(height):
        for px in range(width):
            d2 = ((px - cx) ** 2 + (py - cy) ** 2) / radius**2
            if d2 > 1:
                r = g = b = 0.0
            else:
                fall = 1 - 0.5 * d2
                r, g, b = (200 + tint) * fall, (85 + tint / 2) * fall, 35 * fall
                dd = ((px - disc_x) ** 2 + (py - disc_y) ** 2) / disc_r**2
                if dd < 1.6:
                    w = 1 if dd < 1 else (1.6 - dd) / 0.6
                    r, g, b = r + (250 - r) * w, g + (210 - g) * w, b + (140 - b) * w
                dm = ((px - mac_x) ** 2 + (py - mac_y) ** 2) / mac_r**2
                if dm < 1:
                    shade = 0.75 + 0.25 * dm
                    r, g, b = r * shade, g * shade, b * shade
                dv = darken.get(py * width + px)
                if dv:
                    r, g, b = r * (1 - dv * 0.6), g * (1 - dv), b * (1 - dv)
            y_plane.append(0.299 * r + 0.587 * g + 0.114 * b)
            cb_plane.append(128 - 0.168736 * r - 0.331264 * g + 0.5 * b)
            cr_plane.append(128 + 0.5 * r - 0.418688 * g - 0.081312 * b)
    return y_plane, cb_plane, cr_plane


@functools.lru_cache(maxsize=32)
def fundus_picture(eye: str, variant: int = 0, width: int = 640, height: int = 480) -> bytes:
    """The JPEG bytes of one synthetic fundus picture (cached: identical for the same arguments)."""
    return encode_jpeg(width, height, _render(width, height, eye, variant))


def with_comment(jpeg: bytes, comment: str) -> bytes:
    """The same picture with a COM segment after SOI, so every file has its own bytes."""
    text = comment.encode("utf-8")[:65000]
    return jpeg[:2] + _segment(0xFE, text) + jpeg[2:]
