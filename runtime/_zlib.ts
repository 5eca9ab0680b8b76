/**
 * Compression through `node:zlib`, which Node, Deno and Bun all provide: raw DEFLATE streams
 * (RFC 1951) for `Runtime.rawZlib` (WebSocket permessage-deflate) and one-shot gzip for
 * `Runtime.gzip` (compressed HTTP responses).
 *
 * Synchronous on purpose: a protocol's `decode`/`encode` return their result at once, so a
 * message is compressed or inflated in the call that handles it and messages keep their order
 * without a queue. The public sync helpers (`deflateRawSync`) start a fresh window each call
 * (and Deno ignores their `dictionary`), so one zlib object per direction is kept and driven
 * through its handle's `writeSync(flush, in, inOff, inLen, out, outOff, outLen)`, the call
 * every runtime's own `zlib.*Sync` uses, with `_writeState` holding [availOut, availIn] after it.
 *
 * @module
 */
import * as zlib from "node:zlib";
import type { RawZlibStream } from "./types.ts";

interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  reset(): void;
  onerror: (message: string, errno: number) => void;
}

interface ZlibEngine {
  _handle: ZlibHandle;
  _writeState: Uint32Array;
  close(): void;
}

const OUT_CHUNK = 16384;

class RawStream implements RawZlibStream {
  #engine: ZlibEngine;
  #handle: ZlibHandle;
  #error: Error | null = null;
  #out = new Uint8Array(OUT_CHUNK);

  constructor(engine: ZlibEngine) {
    this.#engine = engine;
    this.#handle = engine._handle;
    this.#handle.onerror = (message) => {
      this.#error = new Error(`zlib: ${message}`);
    };
  }

  push(data: Uint8Array, maxOutput = Infinity): Uint8Array {
    const state = this.#engine._writeState;
    const parts: Uint8Array[] = [];
    let total = 0;
    let inOff = 0;
    let inLen = data.length;
    for (;;) {
      const out = this.#out;
      this.#handle.writeSync(zlib.constants.Z_SYNC_FLUSH, data, inOff, inLen, out, 0, out.length);
      if (this.#error) throw this.#error;
      const availOut = state[0];
      const availIn = state[1];
      const have = out.length - availOut;
      total += have;
      if (total > maxOutput) throw new RangeError(`inflated size exceeds ${maxOutput} bytes`);
      if (have > 0) parts.push(out.slice(0, have));
      inOff += inLen - availIn;
      inLen = availIn;
      if (availOut !== 0) break;
    }
    if (parts.length === 1) return parts[0];
    const whole = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      whole.set(p, at);
      at += p.length;
    }
    return whole;
  }

  reset(): void {
    this.#handle.reset();
  }

  close(): void {
    this.#engine.close();
  }
}

/** A raw deflate or inflate stream with a `2^windowBits` window (9..15) that keeps its window across `push` calls. */
export function rawZlib(mode: "deflate" | "inflate", windowBits: number): RawZlibStream {
  const engine = mode === "deflate" ? zlib.createDeflateRaw({ windowBits }) : zlib.createInflateRaw({ windowBits });
  return new RawStream(engine as unknown as ZlibEngine);
}

/** `data` gzip-compressed (RFC 1952) at `level` (1 fastest … 9 smallest), for `Runtime.gzip`. */
export function gzip(data: Uint8Array, level: number): Uint8Array {
  const out = zlib.gzipSync(data, { level });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
