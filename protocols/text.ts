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

export const Text: Protocol = {
  input(buffer, conn) {
    const end = buffer.indexOf(LF);
    if (end !== -1) return end + 1; // above maxPackageSize the framework rejects it
    if (buffer.length >= conn.maxPackageSize) conn.close();
    return 0;
  },
  decode(buffer) {
    let end = buffer.length;
    while (end > 0 && (buffer[end - 1] === LF || buffer[end - 1] === CR)) end--;
    return utf8Decode(end === buffer.length ? buffer : buffer.subarray(0, end));
  },
  encode(data) {
    return typeof data === "string" ? data + "\n" : `${data}\n`;
  },
};
