/**
 * WebSocket frames built and parsed independently of protocols/websocket, for tests: a
 * client's masked frames and a reader for what a server writes.
 */
import { createHash, randomBytes } from "node:crypto";

export const WS_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
export const WS_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/** A handshake request; `extra` lines replace or add headers. */
export function wsRequest(extra: Record<string, string | null> = {}, path = "/chat"): string {
  const headers: Record<string, string | null> = {
    Host: "127.0.0.1",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": WS_KEY,
    "Sec-WebSocket-Version": "13",
    ...extra,
  };
  let s = `GET ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(headers)) if (v !== null) s += `${k}: ${v}\r\n`;
  return s + "\r\n";
}

export function acceptFor(key: string): string {
  return createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
}

/** One frame; masked with a random key unless `mask` is false. `first` is FIN|RSV|opcode. */
export function frame(
  first: number,
  payload: string | Uint8Array,
  mask: boolean | Uint8Array = true,
  lengthOverride?: number,
): Uint8Array {
  const data = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  const len = lengthOverride ?? data.length;
  const head: number[] = [first];
  const m = mask === false ? 0 : 0x80;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 255);
  else {
    head.push(m | 127, 0, 0, 0, 0);
    head.push((len >>> 24) & 255, (len >>> 16) & 255, (len >>> 8) & 255, len & 255);
  }
  const key = mask === false ? null : mask === true ? randomBytes(4) : mask;
  if (key) head.push(...key);
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  for (let i = 0; i < data.length; i++) out[head.length + i] = key ? data[i] ^ key[i & 3] : data[i];
  return out;
}

export const text = (s: string, fin = true) => frame((fin ? 0x80 : 0) | 1, s);
export const binary = (b: Uint8Array, fin = true) => frame((fin ? 0x80 : 0) | 2, b);
export const cont = (p: string | Uint8Array, fin = true) => frame(fin ? 0x80 : 0, p);
export function closePayload(code: number, reason = ""): Uint8Array {
  const r = new TextEncoder().encode(reason);
  const out = new Uint8Array(2 + r.length);
  out[0] = code >> 8;
  out[1] = code & 255;
  out.set(r, 2);
  return out;
}

export interface ParsedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
}

/** Frames in `bytes` (a server's output after its 101 head); the incomplete tail is in `rest`. */
export function parseFrames(bytes: Uint8Array): { frames: ParsedFrame[]; rest: number } {
  const frames: ParsedFrame[] = [];
  let i = 0;
  for (;;) {
    if (bytes.length - i < 2) break;
    let len = bytes[i + 1] & 0x7f;
    let at = i + 2;
    if (len === 126) {
      if (bytes.length - i < 4) break;
      len = (bytes[i + 2] << 8) | bytes[i + 3];
      at = i + 4;
    } else if (len === 127) {
      if (bytes.length - i < 10) break;
      len = Number(new DataView(bytes.buffer, bytes.byteOffset + i + 2, 8).getBigUint64(0));
      at = i + 10;
    }
    const masked = (bytes[i + 1] & 0x80) !== 0;
    if (masked) at += 4;
    if (bytes.length < at + len) break;
    frames.push({
      fin: (bytes[i] & 0x80) !== 0,
      rsv: bytes[i] & 0x70,
      opcode: bytes[i] & 15,
      masked,
      payload: bytes.slice(at, at + len),
    });
    i = at + len;
  }
  return { frames, rest: bytes.length - i };
}

/** Where the HTTP head in `bytes` ends (just past CRLFCRLF), 0 when it has not all arrived. */
export function headEnd(bytes: Uint8Array): number {
  for (let i = 3; i < bytes.length; i++) {
    if (bytes[i] === 10 && bytes[i - 1] === 13 && bytes[i - 2] === 10 && bytes[i - 3] === 13) return i + 1;
  }
  return 0;
}

/** The bytes of `parts`, one after another. */
export function cat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
