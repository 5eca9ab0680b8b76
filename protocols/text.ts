/**
 * `text://`: one package per line. A package ends with `\n`; `decode` strips the trailing
 * `\r\n` and gives a string; `encode` appends `\n`. A buffer that reaches the connection's
 * `maxPackageSize` without a newline closes the connection.
 *
 * @module
 */
import { utf8Decode } from "../core/bytes.ts";
import type { Protocol } from "../core/protocol.ts";

const LF = 10;
const CR = 13;

/**
 * Per-connection decoding of a whole read at once: one `TextDecoder` call per read instead of
 * one per line (a read of many short lines is the common case, and per-call overhead
 * dominates there). Used only when the read is plain ASCII, where byte offsets and string
 * offsets coincide; otherwise each line is decoded on its own.
 */
interface ReadCache {
  buffer: ArrayBufferLike;
  start: number;
  end: number;
  text: string;
  /** The package `input` just framed (offset and length): the one `decode` is called with next. */
  next: number;
  nextLength: number;
}

const CACHE = Symbol("text read cache");
type Cached = { [CACHE]?: ReadCache | null };

export const Text: Protocol = {
  input(buffer, conn) {
    const end = buffer.indexOf(LF);
    const c = conn as Cached;
    if (end === -1) {
      c[CACHE] = null;
      if (buffer.length >= conn.maxPackageSize) conn.close();
      return 0;
    }
    // `buffer` runs to the end of what has been read: decode it all once when more lines follow.
    let cache = c[CACHE];
    const offset = buffer.byteOffset;
    if (!cache || cache.end !== offset + buffer.length || offset < cache.start || cache.buffer !== buffer.buffer) {
      cache = null;
      if (end + 1 < buffer.length && buffer.length >= 64) {
        const text = utf8Decode(buffer);
        if (text.length === buffer.length) { // plain ASCII: byte and string offsets coincide
          cache = { buffer: buffer.buffer, start: offset, end: offset + buffer.length, text, next: 0, nextLength: 0 };
        }
      }
      c[CACHE] = cache;
    }
    if (cache) {
      cache.next = offset;
      cache.nextLength = end + 1;
    }
    return end + 1; // above maxPackageSize the framework rejects it
  },
  decode(buffer, conn) {
    let end = buffer.length;
    while (end > 0 && (buffer[end - 1] === LF || buffer[end - 1] === CR)) end--;
    const c = conn as Cached;
    const cache = c[CACHE];
    if (cache && cache.nextLength === buffer.length && cache.next === buffer.byteOffset) {
      const from = cache.next - cache.start;
      if (cache.next + buffer.length === cache.end) c[CACHE] = null; // the read's last line: let go of the text
      else cache.nextLength = 0; // used once
      return cache.text.slice(from, from + end);
    }
    return utf8Decode(end === buffer.length ? buffer : buffer.subarray(0, end));
  },
  encode(data) {
    return typeof data === "string" ? data + "\n" : `${data}\n`;
  },
};
