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

/** The decoded text of the read being framed, when it is plain ASCII (see `decodeAt`). */
interface ReadText {
  source: Uint8Array;
  text: string;
}

const READ = Symbol("text of the current read");
type WithRead = { [READ]?: ReadText | null };

function lineEnd(buffer: Uint8Array, start: number, end: number): number {
  while (end > start && (buffer[end - 1] === LF || buffer[end - 1] === CR)) end--;
  return end;
}

/** `text://`: one message per line (`\n`, a trailing `\r` dropped); `send(text)` appends the `\n`. */
export const Text: Protocol<string, string> = {
  input(buffer, conn) {
    const end = buffer.indexOf(LF);
    if (end !== -1) return end + 1; // above maxPackageSize the framework rejects it
    if (buffer.length >= conn.maxPackageSize) conn.close();
    return 0;
  },
  decode(buffer) {
    const end = lineEnd(buffer, 0, buffer.length);
    return utf8Decode(end === buffer.length ? buffer : buffer.subarray(0, end));
  },
  inputAt(buffer, offset, conn) {
    const end = buffer.indexOf(LF, offset);
    if (end !== -1) return end + 1 - offset;
    (conn as WithRead)[READ] = null; // the rest of this read is an incomplete line
    if (buffer.length - offset >= conn.maxPackageSize) conn.close();
    return 0;
  },
  /**
   * One `TextDecoder` call per read instead of one per line: reads of many short lines are the
   * common case, and there the per-call cost dominates. Only for plain ASCII, where byte and
   * string offsets coincide; other reads decode line by line.
   */
  decodeAt(buffer, start, end, conn) {
    const c = conn as WithRead;
    let read = c[READ];
    if (!read || read.source !== buffer) {
      read = null;
      if (end < buffer.length && buffer.length >= 64) { // more lines follow: share one decode
        const text = utf8Decode(buffer);
        if (text.length === buffer.length) read = { source: buffer, text };
      }
      c[READ] = read;
    }
    const stop = lineEnd(buffer, start, end);
    if (end === buffer.length) c[READ] = null; // the read's last line: let go of the text
    return read ? read.text.slice(start, stop) : utf8Decode(buffer.subarray(start, stop));
  },
  encode(data) {
    return typeof data === "string" ? data + "\n" : `${data}\n`;
  },
};
