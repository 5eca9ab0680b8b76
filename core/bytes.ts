/**
 * Byte helpers shared by the core and the protocols. Data is `Uint8Array` everywhere;
 * raw `tcp://` data reaches user code as {@link Bytes}, whose `toString()` is UTF-8, so
 * `"hello " + data` reads as in the Workerman manual.
 *
 * @module
 */

const encoder = new TextEncoder();
/** UTF-8 that keeps a leading U+FEFF: bytes are data, as in PHP (the default decoder drops it). */
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** A `Uint8Array` whose string form is its UTF-8 text. */
export class Bytes extends Uint8Array {
  /** The UTF-8 text of these bytes. */
  override toString(): string {
    return decoder.decode(this);
  }
  /** The UTF-8 text of these bytes (same as `toString()`). */
  text(): string {
    return decoder.decode(this);
  }
}

/** A zero-copy {@link Bytes} view of `data`. */
export function asBytes(data: Uint8Array): Bytes {
  return new Bytes(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
}

/** UTF-8 encode a string; bytes pass through. */
export function toBytes(data: string | Uint8Array): Uint8Array {
  return typeof data === "string" ? utf8Encode(data) : data;
}

// `encodeInto` a scratch buffer and copying out is several times faster than `encode` for
// short strings on V8 (measured on Node 20: 94 ns against 600 ns for 384 characters).
const scratch = new Uint8Array(16384);
const SCRATCH_CHARS = scratch.length / 3; // a UTF-16 unit never takes more than 3 bytes

/** UTF-8 encode a string into fresh memory. */
export function utf8Encode(text: string): Uint8Array {
  if (text.length > SCRATCH_CHARS) return encoder.encode(text);
  const { written } = encoder.encodeInto(text, scratch);
  return scratch.slice(0, written);
}

/** The UTF-8 text of `data` (invalid sequences as U+FFFD; a leading U+FEFF is kept). */
export function utf8Decode(data: Uint8Array): string {
  return decoder.decode(data);
}

/** A fresh array holding `a` followed by `b`. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** A fresh array holding all `parts` in order (`total` is their summed length). */
export function concatAll(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * A copy of `data` from `start` on. Unlike `subarray` it does not keep a large read buffer
 * alive (and unlike Node's `Buffer#slice`, it really copies).
 */
export function copyFrom(data: Uint8Array, start: number): Uint8Array {
  const out = new Uint8Array(data.length - start);
  out.set(data.subarray(start));
  return out;
}
