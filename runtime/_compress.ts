/**
 * gzip for the `http://` protocol's compressed responses, shared by the three adapters: every
 * runtime here has `node:zlib` (Node natively, Deno and Bun through their Node layers). Only
 * gzip lives here; raw deflate for WebSocket is a separate capability.
 *
 * @module
 */
import { gzipSync } from "node:zlib";

/** `data` gzip-compressed (RFC 1952) at `level` (1 fastest … 9 smallest). */
export function gzip(data: Uint8Array, level: number): Uint8Array {
  const out = gzipSync(data, { level });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
