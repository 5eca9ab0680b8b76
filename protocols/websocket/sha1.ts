/**
 * SHA-1 (FIPS 180-4) and base64 over bytes, synchronous and dependency-free: the WebSocket
 * handshake needs `base64(SHA-1(key + GUID))` in the middle of a parse, where `crypto.subtle`
 * (asynchronous) cannot be used and `node:crypto` is outside the runtime boundary. Not for
 * security: SHA-1 here only proves the server read the key (RFC 6455 §4.2.2).
 *
 * @module
 */

import { utf8Decode } from "../../core/bytes.ts";

/** What RFC 6455 appends to a client's key before hashing it. */
const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// Reused: sha1 is synchronous, and a handshake then leaves less garbage. The message schedule,
// and a padded message up to 119 bytes (a handshake's key and GUID are 60).
const schedule = new Int32Array(80);
const scratch = new Uint8Array(128);
const scratchView = new DataView(scratch.buffer);

/** The 20-byte SHA-1 digest of `data`. */
export function sha1(data: Uint8Array): Uint8Array {
  const small = data.length <= 119;
  const padded = small ? scratch : new Uint8Array(((data.length + 8) >> 6) * 64 + 64);
  padded.set(data);
  const out = new Uint8Array(20);
  digest(padded, small ? scratchView : new DataView(padded.buffer), data.length, out);
  return out;
}

/**
 * SHA-1 of the first `length` bytes of `padded` (which has room for the padding: up to the next
 * multiple of 64 bytes with 9 to spare; `view` is a DataView on it) into `out`.
 */
function digest(padded: Uint8Array, view: DataView, length: number, out: Uint8Array): void {
  const end = ((length + 8) >> 6) * 64 + 64;
  const bitLength = length * 8;
  padded.fill(0, length, end);
  padded[length] = 0x80;
  view.setUint32(end - 8, Math.floor(bitLength / 0x100000000));
  view.setUint32(end - 4, bitLength >>> 0);
  let h0 = 0x67452301, h1 = 0xefcdab89, h2 = 0x98badcfe, h3 = 0x10325476, h4 = 0xc3d2e1f0;
  const w = schedule;
  for (let block = 0; block < end; block += 64) {
    for (let t = 0; t < 16; t++) w[t] = view.getInt32(block + t * 4);
    for (let t = 16; t < 80; t++) {
      const x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16];
      w[t] = (x << 1) | (x >>> 31);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4;
    for (let t = 0; t < 80; t++) {
      let f: number, k: number;
      if (t < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (t < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (t < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const temp = (((a << 5) | (a >>> 27)) + f + e + k + w[t]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = temp;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  putWord(out, 0, h0);
  putWord(out, 4, h1);
  putWord(out, 8, h2);
  putWord(out, 12, h3);
  putWord(out, 16, h4);
}

/** `x` big-endian at out[at, at + 4). */
function putWord(out: Uint8Array, at: number, x: number): void {
  out[at] = x >>> 24;
  out[at + 1] = (x >>> 16) & 0xff;
  out[at + 2] = (x >>> 8) & 0xff;
  out[at + 3] = x & 0xff;
}

const B64 = new TextEncoder().encode("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
const PAD = 61; // "="

/** Standard base64 (with padding) of `data`. */
export function base64(data: Uint8Array): string {
  const chars = new Uint8Array(Math.ceil(data.length / 3) * 4);
  base64Into(data, chars);
  return utf8Decode(chars);
}

/** The base64 characters of `data` (as ASCII codes) into `chars`, which has room for them. */
function base64Into(data: Uint8Array, chars: Uint8Array): void {
  let i = 0;
  let o = 0;
  for (; i + 2 < data.length; i += 3) {
    const n = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    chars[o++] = B64[n >> 18];
    chars[o++] = B64[(n >> 12) & 63];
    chars[o++] = B64[(n >> 6) & 63];
    chars[o++] = B64[n & 63];
  }
  const rest = data.length - i;
  if (rest === 0) return;
  const n = (data[i] << 16) | (rest === 2 ? data[i + 1] << 8 : 0);
  chars[o++] = B64[n >> 18];
  chars[o++] = B64[(n >> 12) & 63];
  chars[o++] = rest === 2 ? B64[(n >> 6) & 63] : PAD;
  chars[o] = PAD;
}

const GUID_BYTES = new TextEncoder().encode(WEBSOCKET_GUID);
const acceptDigest = new Uint8Array(20);
const acceptChars = new Uint8Array(28);

/**
 * `Sec-WebSocket-Accept` for `key`: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2). A valid key
 * (24 ASCII characters) is hashed in reused buffers: the one string made is the answer.
 */
export function webSocketAccept(key: string): string {
  const length = key.length + GUID_BYTES.length;
  let ascii = length <= 119;
  for (let i = 0; ascii && i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c > 127) ascii = false;
    else scratch[i] = c;
  }
  if (!ascii) return base64(sha1(new TextEncoder().encode(key + WEBSOCKET_GUID)));
  scratch.set(GUID_BYTES, key.length);
  digest(scratch, scratchView, length, acceptDigest);
  base64Into(acceptDigest, acceptChars);
  return utf8Decode(acceptChars);
}

/** True when `key` is the base64 form of exactly 16 bytes (RFC 6455 §4.2.1: Sec-WebSocket-Key). */
export function isWebSocketKey(key: string): boolean {
  return /^[A-Za-z0-9+/]{21}[AQgw]==$/.test(key);
}
