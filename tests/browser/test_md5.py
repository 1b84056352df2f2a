"""md5.js, the browser's MD5 for the duplicate pre-check, agrees with hashlib."""

import base64
import hashlib
import os

import pytest

pytestmark = pytest.mark.browser

HEX_OF = """async ({b64, chunk}) => {
    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    if (!chunk) return FundusMD5.hex(bytes.buffer);
    const h = FundusMD5.create();
    for (let i = 0; i < bytes.length; i += chunk) h.update(bytes.subarray(i, i + chunk));
    return h.hex();
}"""


@pytest.fixture
def md5_page(page):
    page.goto("/accounts/login/")
    page.evaluate("delete Crypto.prototype.subtle")  # as on a plain-HTTP LAN page
    page.add_script_tag(url="/static/fundushub/md5.js")
    return page


def test_it_agrees_with_hashlib_on_every_padding_boundary(md5_page):
    for n in [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 65_537]:
        data = os.urandom(n)
        b64 = base64.b64encode(data).decode()
        want = hashlib.md5(data).hexdigest()
        assert md5_page.evaluate(HEX_OF, {"b64": b64, "chunk": 0}) == want, n
        assert md5_page.evaluate(HEX_OF, {"b64": b64, "chunk": 37}) == want, n
    fox = md5_page.evaluate(
        "FundusMD5.hex(new TextEncoder().encode('The quick brown fox jumps over the lazy dog'))"
    )
    assert fox == "9e107d9d372bb6826bd81d3542a419d6"


def test_it_agrees_with_hashlib_on_a_5_mb_file(md5_page):
    hex_digest = md5_page.evaluate(
        """() => {
            const bytes = new Uint8Array(5 * 1024 * 1024);
            for (let i = 0; i < bytes.length; i++) bytes[i] = Math.imul(i, 2654435761) >>> 24;
            return FundusMD5.hex(bytes);
        }"""
    )
    expected = bytes(((i * 2654435761) & 0xFFFFFFFF) >> 24 for i in range(5 * 1024 * 1024))
    assert hex_digest == hashlib.md5(expected).hexdigest()
