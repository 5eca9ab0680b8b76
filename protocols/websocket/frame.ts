/**
 * WebSocket frame bytes (RFC 6455 §5.2), shared by the server and client protocols.
 *
 * | byte  | bits | field                                                            |
 * | ----- | ---- | ---------------------------------------------------------------- |
 * | 0     | 7    | FIN                                                              |
 * | 0     | 6..4 | RSV1..3: 0, except RSV1 on a compressed message (permessage-deflate) |
 * | 0     | 3..0 | opcode: 0 cont, 1 text, 2 binary, 8 close, 9 ping, 10 pong      |
 * | 1     | 7    | MASK (client → server: 1, server → client: 0)                    |
 * | 1     | 6..0 | length: ≤125, 126 → next 2 bytes, 127 → next 8 bytes (big-endian) |
 * | +0/4  |      | masking key when MASK                                            |
 * | rest  |      | payload                                                          |
 *
 * @module
 */

/** Text frame opcode byte with FIN (Workerman's `BINARY_TYPE_BLOB`). */
export const BINARY_TYPE_BLOB = "\x81";
/** Binary frame opcode byte with FIN (Workerman's `BINARY_TYPE_ARRAYBUFFER`). */
export const BINARY_TYPE_ARRAYBUFFER = "\x82";

export const OP_CONT = 0;
export const OP_TEXT = 1;
export const OP_BINARY = 2;
export const OP_CLOSE = 8;
export const OP_PING = 9;
export const OP_PONG = 10;

const encoder = new TextEncoder();
// One encode, one copy: the text is encoded into scratch after room for the longest header,
// the header is written just before it, and frame and payload leave in one slice.
const scratch = new Uint8Array(65536 + 14);
const SCRATCH_CHARS = (scratch.length - 14) / 3;
const scratchPayload = scratch.subarray(14);

/** Header length of a frame with `length` payload bytes. */
function headerLength(length: number, masked: boolean): number {
  return (length < 126 ? 2 : length < 65536 ? 4 : 10) + (masked ? 4 : 0);
}

function writeHeader(out: Uint8Array, at: number, first: number, length: number, mask: Uint8Array | null): void {
  out[at] = first;
  const m = mask ? 0x80 : 0;
  if (length < 126) {
    out[at + 1] = m | length;
    at += 2;
  } else if (length < 65536) {
    out[at + 1] = m | 126;
    out[at + 2] = length >>> 8;
    out[at + 3] = length & 255;
    at += 4;
  } else {
    out[at + 1] = m | 127;
    const high = Math.floor(length / 0x100000000);
    out[at + 2] = 0;
    out[at + 3] = 0;
    out[at + 4] = (high >>> 8) & 255;
    out[at + 5] = high & 255;
    out[at + 6] = (length >>> 24) & 255;
    out[at + 7] = (length >>> 16) & 255;
    out[at + 8] = (length >>> 8) & 255;
    out[at + 9] = length & 255;
    at += 10;
  }
  if (mask) out.set(mask, at);
}

/**
 * One whole frame: `first` is the FIN/opcode byte, `payload` text (UTF-8 encoded once, right
 * into the frame) or bytes; `mask` (4 bytes) masks it, as a client must.
 */
export function buildFrame(first: number, payload: string | Uint8Array, mask: Uint8Array | null = null): Uint8Array {
  let out: Uint8Array;
  let start: number;
  let length: number;
  if (typeof payload === "string" && payload.length <= SCRATCH_CHARS) {
    length = encoder.encodeInto(payload, scratchPayload).written;
    const h = headerLength(length, mask !== null);
    writeHeader(scratch, 14 - h, first, length, mask);
    out = scratch.slice(14 - h, 14 + length);
    start = h;
  } else {
    const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
    length = bytes.length;
    start = headerLength(length, mask !== null);
    out = new Uint8Array(start + length);
    writeHeader(out, 0, first, length, mask);
    out.set(bytes, start);
  }
  if (mask) unmask(out, start, length, mask, 0, out, start);
  return out;
}

/**
 * dst[to..to+length) = src[from..from+length) XOR the 4-byte key at mask[maskAt..]; 32 bits
 * at a time for long aligned payloads (short ones stay on the byte loop: typed-array views
 * cost more than they save there).
 */
export function unmask(
  src: Uint8Array,
  from: number,
  length: number,
  mask: Uint8Array,
  maskAt: number,
  dst: Uint8Array,
  to: number,
): void {
  const m0 = mask[maskAt], m1 = mask[maskAt + 1], m2 = mask[maskAt + 2], m3 = mask[maskAt + 3];
  let i = 0;
  const srcAt = src.byteOffset + from;
  const dstAt = dst.byteOffset + to;
  if (length >= 512 && (srcAt & 3) === (dstAt & 3)) {
    // head bytes until both are 4-aligned, then words, then the tail
    const head = (4 - (srcAt & 3)) & 3;
    const key = [m0, m1, m2, m3];
    for (; i < head; i++) dst[to + i] = src[from + i] ^ key[i & 3];
    const words = (length - head) >>> 2;
    const s32 = new Uint32Array(src.buffer, srcAt + head, words);
    const d32 = new Uint32Array(dst.buffer, dstAt + head, words);
    // the key rotated so it lines up with byte `head`, read in the platform's byte order
    const m = new Uint8Array(4);
    for (let k = 0; k < 4; k++) m[k] = key[(head + k) & 3];
    const mw = new Uint32Array(m.buffer)[0];
    for (let w = 0; w < words; w++) d32[w] = s32[w] ^ mw;
    for (i = head + words * 4; i < length; i++) dst[to + i] = src[from + i] ^ key[i & 3];
    return;
  }
  for (; i + 3 < length; i += 4) {
    dst[to + i] = src[from + i] ^ m0;
    dst[to + i + 1] = src[from + i + 1] ^ m1;
    dst[to + i + 2] = src[from + i + 2] ^ m2;
    dst[to + i + 3] = src[from + i + 3] ^ m3;
  }
  if (i < length) dst[to + i] = src[from + i] ^ m0;
  if (i + 1 < length) dst[to + i + 1] = src[from + i + 1] ^ m1;
  if (i + 2 < length) dst[to + i + 2] = src[from + i + 2] ^ m2;
}

/** True for a close code a peer may send (RFC 6455 §7.4, as the `ws` library accepts). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999);
}

/** A close frame with `code` and a UTF-8 `reason` (≤ 123 bytes), unmasked unless `mask`. */
export function closeFrame(code: number, reason = "", mask: Uint8Array | null = null): Uint8Array {
  const r = encoder.encode(reason).subarray(0, 123);
  const payload = new Uint8Array(2 + r.length);
  payload[0] = code >>> 8;
  payload[1] = code & 255;
  payload.set(r, 2);
  return buildFrame(0x88, payload, mask);
}
