/**
 * Byte helpers shared by the core and the protocols. Data is `Uint8Array` everywhere;
 * raw `tcp://` data reaches user code as {@link Bytes}, whose `toString()` is UTF-8, so
 * `"hello " + data` reads as in the Workerman manual.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A `Uint8Array` whose string form is its UTF-8 text. */
export class Bytes extends Uint8Array {
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
  return typeof data === "string" ? encoder.encode(data) : data;
}

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

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
