/**
 * `frame://`: each package carries its own length.
 *
 * | offset | size | field                                                       |
 * | ------ | ---- | ----------------------------------------------------------- |
 * | 0      | 4    | total length, unsigned big-endian, including these 4 bytes |
 * | 4      | n-4  | payload                                                     |
 *
 * `decode` gives the payload as {@link Bytes} (its `toString()` is UTF-8); `encode` takes a
 * string (sent as UTF-8) or bytes. A length below 4 is bad input and closes the connection.
 *
 * @module
 */
import { asBytes, type Bytes, toBytes } from "../core/bytes.ts";
import type { Protocol } from "../core/protocol.ts";

/** `frame://`: each package is a 4-byte big-endian total length, then the payload (bytes in, a string or bytes out). */
export const Frame: Protocol<Bytes, string | Uint8Array> = {
  input(buffer) {
    if (buffer.length < 4) return 0;
    const length = ((buffer[0] << 24) | (buffer[1] << 16) | (buffer[2] << 8) | buffer[3]) >>> 0;
    return length < 4 ? -1 : length;
  },
  decode(buffer) {
    return asBytes(buffer.subarray(4));
  },
  encode(data) {
    const payload = toBytes(typeof data === "string" || data instanceof Uint8Array ? data : String(data));
    const out = new Uint8Array(payload.length + 4);
    const length = out.length;
    out[0] = length >>> 24;
    out[1] = (length >>> 16) & 0xff;
    out[2] = (length >>> 8) & 0xff;
    out[3] = length & 0xff;
    out.set(payload, 4);
    return out;
  },
};
