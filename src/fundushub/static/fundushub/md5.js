// MD5 (RFC 1321) in plain JavaScript, for the duplicate pre-check on the upload form.
// WebCrypto has no MD5 and is missing altogether on plain-HTTP pages, so this runs anywhere.
//   FundusMD5.hex(arrayBufferOrUint8Array) -> "9e107d9d372bb6826bd81d3542a419d6"
//   FundusMD5.create().update(bytes).update(moreBytes).hex()   (incremental)
(function (root) {
  "use strict";

  // K[i] = floor(abs(sin(i + 1)) * 2^32), as int32.
  var K = new Int32Array([
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
  ]);
  // Per-round shift amounts (four per round, repeated).
  var S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
  var M = new Int32Array(16);

  function rotl(x, n) {
    return (x << n) | (x >>> (32 - n));
  }

  // Mix one 64-byte block of `bytes` starting at `off` into state h (Int32Array(4)).
  function block(h, bytes, off) {
    var i, f, t;
    for (i = 0; i < 16; i++, off += 4) {
      M[i] = bytes[off] | (bytes[off + 1] << 8) | (bytes[off + 2] << 16) | (bytes[off + 3] << 24);
    }
    var a = h[0], b = h[1], c = h[2], d = h[3];
    for (i = 0; i < 16; i++) {
      f = (b & c) | (~b & d);
      t = d; d = c; c = b;
      b = (b + rotl((a + f + K[i] + M[i]) | 0, S[i & 3])) | 0;
      a = t;
    }
    for (i = 16; i < 32; i++) {
      f = (d & b) | (~d & c);
      t = d; d = c; c = b;
      b = (b + rotl((a + f + K[i] + M[(5 * i + 1) & 15]) | 0, S[4 + (i & 3)])) | 0;
      a = t;
    }
    for (i = 32; i < 48; i++) {
      f = b ^ c ^ d;
      t = d; d = c; c = b;
      b = (b + rotl((a + f + K[i] + M[(3 * i + 5) & 15]) | 0, S[8 + (i & 3)])) | 0;
      a = t;
    }
    for (i = 48; i < 64; i++) {
      f = c ^ (b | ~d);
      t = d; d = c; c = b;
      b = (b + rotl((a + f + K[i] + M[(7 * i) & 15]) | 0, S[12 + (i & 3)])) | 0;
      a = t;
    }
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + b) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
  }

  function asBytes(data) {
    if (data instanceof Uint8Array) return data;
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    throw new TypeError("FundusMD5 hashes an ArrayBuffer or a typed array");
  }

  function Hasher() {
    this.h = new Int32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
    this.buf = new Uint8Array(64); // a partial block carried between update() calls
    this.used = 0;
    this.length = 0; // total bytes seen
  }

  Hasher.prototype.update = function (data) {
    var bytes = asBytes(data), n = bytes.length, off = 0;
    this.length += n;
    if (this.used) {
      var take = Math.min(64 - this.used, n);
      this.buf.set(bytes.subarray(0, take), this.used);
      this.used += take;
      off = take;
      if (this.used < 64) return this;
      block(this.h, this.buf, 0);
      this.used = 0;
    }
    for (; off + 64 <= n; off += 64) block(this.h, bytes, off);
    if (off < n) {
      this.buf.set(bytes.subarray(off), 0);
      this.used = n - off;
    }
    return this;
  };

  Hasher.prototype.hex = function () {
    // Pad: 0x80, zeros to 56 mod 64, then the bit length as 64-bit little-endian.
    var tail = new Uint8Array(this.used < 56 ? 64 : 128);
    tail.set(this.buf.subarray(0, this.used));
    tail[this.used] = 0x80;
    var bitsLo = (this.length % 0x20000000) * 8; // low 32 bits of length * 8
    var bitsHi = Math.floor(this.length / 0x20000000); // the rest
    var p = tail.length - 8, i;
    for (i = 0; i < 4; i++) {
      tail[p + i] = (bitsLo >>> (8 * i)) & 0xff;
      tail[p + 4 + i] = (bitsHi >>> (8 * i)) & 0xff;
    }
    var h = new Int32Array(this.h);
    for (i = 0; i < tail.length; i += 64) block(h, tail, i);
    var out = "";
    for (i = 0; i < 16; i++) {
      var byte = (h[i >> 2] >>> (8 * (i & 3))) & 0xff;
      out += (byte < 16 ? "0" : "") + byte.toString(16);
    }
    return out;
  };

  root.FundusMD5 = {
    create: function () {
      return new Hasher();
    },
    hex: function (data) {
      return new Hasher().update(data).hex();
    },
  };
})(typeof window !== "undefined" ? window : globalThis);
