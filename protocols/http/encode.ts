/**
 * Encoding what an `http://` handler sends: text (200, text/html, cached per text and second),
 * a {@link Response} (headers checked, `Content-Length` from the body), a chunked response and
 * its {@link Chunk}s, an event stream and its {@link ServerSentEvents}, a file (conditional
 * and range requests, streamed with back-pressure). Everything of one response goes out as
 * one string or byte array.
 *
 * @module
 */
import { concat, utf8Encode } from "../../core/bytes.ts";
import { runtime } from "../../runtime/mod.ts";
import { FILE_PIECE, FileStream } from "./file_stream.ts";
import { mimeType } from "./mime.ts";
import { checkHeader, Chunk, REASONS, Response, ServerSentEvents } from "./response.ts";
import {
  completeResponse,
  type Conn,
  HttpState,
  STREAM_CHUNKED,
  STREAM_FILE,
  STREAM_RAW,
} from "./state.ts";

/** A file response up to this size is sent in the same write as its head. */
const SMALL_FILE = FILE_PIECE;

let dateUntil = 0;
let dateLine = "";
let head200KeepAlive = "";
let head200Close = "";
const TEXT_TAIL_KEEP = "Connection: keep-alive\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: ";
const TEXT_TAIL_CLOSE = "Connection: close\r\nContent-Type: text/html;charset=utf-8\r\nContent-Length: ";

/**
 * The bytes of the last `conn.send(text)` answers, for the same text, this second: a handler
 * that answers many requests with the same short text (a health check, a constant page, the
 * benchmarks' hello world) has its response encoded once a second, not once per request.
 * Encoding a response head costs more than parsing a small request (measured on Node 20).
 */
let cachedText = "";
let cachedKeepAlive: Uint8Array | null = null;
let cachedClose: Uint8Array | null = null;

/** `Date: ...\r\n`, recomputed at most once a second. */
function date(): string {
  const now = Date.now();
  if (now >= dateUntil) {
    cachedKeepAlive = cachedClose = null;
    dateUntil = now - (now % 1000) + 1000;
    dateLine = `Date: ${new Date(now).toUTCString()}\r\n`;
    head200KeepAlive = `HTTP/1.1 200 OK\r\nServer: workerman\r\n${dateLine}${TEXT_TAIL_KEEP}`;
    head200Close = `HTTP/1.1 200 OK\r\nServer: workerman\r\n${dateLine}${TEXT_TAIL_CLOSE}`;
  }
  return dateLine;
}

/** UTF-8 length of a (short) string. */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // 4 bytes for the pair of 2 units
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}

/** A single `bytes=` range of a file of `size` bytes: [first, last], "unsatisfiable", or null to ignore. */
export function parseRange(header: string, size: number): [number, number] | "unsatisfiable" | null {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return null; // several ranges, or not bytes: send it all
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return "unsatisfiable";
    return [Math.max(0, size - n), size - 1];
  }
  const first = Number(m[1]);
  const last = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < first) return null;
  if (first >= size) return "unsatisfiable";
  return [first, last];
}

// Flags gathered from the user's headers by userHeaders() (one shared scratch object).
const seen = { lines: "", type: false, server: false, date: false, length: -1, chunked: false, eventStream: false, close: false, disposition: false };

/** The user's header lines (validated) and what they say. Skips the ones the protocol writes itself. */
function userHeaders(r: Response): typeof seen {
  seen.lines = "";
  seen.type = seen.server = seen.date = seen.chunked = seen.eventStream = seen.close = seen.disposition = false;
  seen.length = -1;
  const headers = r._headers;
  if (headers === null) return seen;
  for (const name in headers) {
    const value = headers[name];
    switch (name.toLowerCase()) {
      case "content-length":
        seen.length = Number(value);
        continue;
      case "transfer-encoding":
        if (/chunked/i.test(String(value))) seen.chunked = true;
        continue;
      case "connection":
        if (/close/i.test(String(value))) seen.close = true;
        continue;
      case "content-type":
        seen.type = true;
        if (/^\s*text\/event-stream/i.test(String(value))) seen.eventStream = true;
        break;
      case "content-disposition":
        seen.disposition = true;
        break;
      case "server":
        seen.server = true;
        break;
      case "date":
        seen.date = true;
        break;
    }
    if (Array.isArray(value)) {
      for (const item of value) {
        const v = String(item);
        checkHeader(name, v);
        seen.lines += `${name}: ${v}\r\n`;
      }
    } else {
      const v = String(value);
      checkHeader(name, v);
      seen.lines += `${name}: ${v}\r\n`;
    }
  }
  return seen;
}

/** Bytes for what the application sends (see the module doc of `response.ts`). */
export function encodeMessage(data: unknown, conn: Conn): string | Uint8Array {
  let s: HttpState | undefined = conn.__http;
  if (s === undefined) s = conn.__http = new HttpState();
  if (typeof data === "string") return encodeText(s, conn, data);
  if (data instanceof Response) return encodeResponse(s, conn, data);
  if (data instanceof Chunk) return encodeChunk(s, conn, data);
  if (data instanceof ServerSentEvents) return s.isHead ? "" : data.toString();
  if (data instanceof Uint8Array) {
    return encodeResponse(s, conn, new Response(200, { "Content-Type": "application/octet-stream" }, data));
  }
  return encodeText(s, conn, String(data));
}

/** `conn.send("text")`: 200, text/html, in one write. */
function encodeText(s: HttpState, conn: Conn, body: string): string | Uint8Array {
  date();
  const req = s.current;
  const plain = req === null || req._setCookie === null;
  if (plain && !s.isHead && body.length <= 1024) {
    if (body === cachedText) {
      const cached = s.keepAlive ? cachedKeepAlive : cachedClose;
      if (cached !== null) return completeResponse(s, conn, cached);
    } else {
      cachedText = body;
      cachedKeepAlive = cachedClose = null;
    }
    const bytes = utf8Encode((s.keepAlive ? head200KeepAlive : head200Close) + utf8Length(body) + "\r\n\r\n" + body);
    if (s.keepAlive) cachedKeepAlive = bytes;
    else cachedClose = bytes;
    return completeResponse(s, conn, bytes);
  }
  let bytes: Uint8Array | null = null;
  let length: number;
  if (body.length > 1024) {
    bytes = utf8Encode(body);
    length = bytes.length;
  } else {
    length = utf8Length(body);
  }
  let head: string;
  if (!plain) {
    head = `HTTP/1.1 200 OK\r\nServer: workerman\r\n${dateLine}Set-Cookie: ${req!._setCookie}\r\n` +
      (s.keepAlive ? TEXT_TAIL_KEEP : TEXT_TAIL_CLOSE) + length + "\r\n\r\n";
  } else {
    head = (s.keepAlive ? head200KeepAlive : head200Close) + length + "\r\n\r\n";
  }
  if (s.isHead) return completeResponse(s, conn, head);
  return completeResponse(s, conn, bytes === null ? head + body : concat(utf8Encode(head), bytes));
}

/** Status line and the common headers of a Response; sets `s.keepAlive` false when it closes. */
function encodeHead(s: HttpState, r: Response, status: number, h: typeof seen, closes: boolean): string {
  if (h.close || closes) s.keepAlive = false;
  const req = s.current;
  return `HTTP/${r._version} ${status} ${r._reason ?? REASONS[status] ?? ""}\r\n` +
    (h.server ? "" : "Server: workerman\r\n") +
    (h.date ? "" : date()) +
    (req !== null && req._setCookie !== null ? `Set-Cookie: ${req._setCookie}\r\n` : "") +
    h.lines +
    (s.keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
}

function encodeResponse(s: HttpState, conn: Conn, r: Response): string | Uint8Array {
  if (r._file !== null) return encodeFile(s, conn, r);
  const status = r._status;
  const h = userHeaders(r);
  const noBody = status < 200 || status === 204 || status === 304;
  const type = h.type || noBody ? "" : "Content-Type: text/html;charset=utf-8\r\n";
  const body = r._body;
  if (h.eventStream || (h.chunked && s.minor === 0)) {
    // A body that ends when the connection closes: an event stream, or chunks for an HTTP/1.0 client.
    const head = encodeHead(s, r, status, h, true) + type + "\r\n";
    s.stream = STREAM_RAW;
    s.closing = true;
    if (s.isHead) return head;
    return typeof body === "string" ? head + body : concat(utf8Encode(head), body);
  }
  if (h.chunked && !noBody) {
    const head = encodeHead(s, r, status, h, false) + type + "Transfer-Encoding: chunked\r\n\r\n";
    s.stream = STREAM_CHUNKED;
    if (s.isHead || body.length === 0) return head;
    const first = encodeChunk(s, conn, new Chunk(body));
    return typeof first === "string" ? head + first : concat(utf8Encode(head), first);
  }
  const bytes = typeof body === "string" ? (body.length > 1024 ? utf8Encode(body) : null) : body;
  const length = bytes !== null ? bytes.length : utf8Length(body as string);
  let head = encodeHead(s, r, status, h, false) + type;
  if (!noBody) head += `Content-Length: ${s.isHead && h.length >= 0 ? h.length : length}\r\n`;
  else if (status === 304 && h.length >= 0) head += `Content-Length: ${h.length}\r\n`;
  head += "\r\n";
  if (s.isHead || noBody || length === 0) return completeResponse(s, conn, head);
  return completeResponse(s, conn, bytes === null ? head + body : concat(utf8Encode(head), bytes));
}

function encodeChunk(s: HttpState, conn: Conn, chunk: Chunk): string | Uint8Array {
  const data = chunk.data;
  const last = data.length === 0;
  let out: string | Uint8Array;
  if (s.isHead) out = "";
  else if (s.stream === STREAM_RAW) out = data;
  else if (last) out = "0\r\n\r\n";
  else if (typeof data === "string") out = `${utf8Length(data).toString(16)}\r\n${data}\r\n`;
  else {
    const head = utf8Encode(`${data.length.toString(16)}\r\n`);
    const framed = new Uint8Array(head.length + data.length + 2);
    framed.set(head, 0);
    framed.set(data, head.length);
    framed[framed.length - 2] = 13;
    framed[framed.length - 1] = 10;
    out = framed;
  }
  if (!last) return out;
  if (s.stream === STREAM_RAW) {
    s.keepAlive = false;
    return completeResponse(s, conn, out);
  }
  if (s.stream === STREAM_CHUNKED) return completeResponse(s, conn, out);
  return out;
}

function encodeFile(s: HttpState, conn: Conn, r: Response): string | Uint8Array {
  const f = r._file!;
  const size = f.size;
  let status = r._status;
  let start = 0;
  let count = size;
  let range = "";
  const req = s.current;
  if (f.offset > 0 || f.length > 0) {
    start = Math.min(f.offset, size);
    count = f.length > 0 ? Math.min(f.length, size - start) : size - start;
    if (status === 200) status = 206;
    range = `Content-Range: bytes ${start}-${start + count - 1}/${size}\r\n`;
  } else if (status === 200 && req !== null) {
    const since = req.header("if-modified-since") as string | null;
    if (since !== null && req.header("if-none-match") === null) {
      const t = Date.parse(since);
      if (!Number.isNaN(t) && Math.floor(f.mtimeMs / 1000) * 1000 <= t) status = 304;
    }
    const wanted = req.header("range") as string | null;
    if (status === 200 && wanted !== null) {
      const parsed = parseRange(wanted, size);
      if (parsed === "unsatisfiable") {
        status = 416;
        count = 0;
        range = `Content-Range: bytes */${size}\r\n`;
      } else if (parsed !== null) {
        start = parsed[0];
        count = parsed[1] - parsed[0] + 1;
        status = 206;
        range = `Content-Range: bytes ${start}-${parsed[1]}/${size}\r\n`;
      }
    }
  }
  const h = userHeaders(r);
  let head = encodeHead(s, r, status, h, false);
  if (!h.type) {
    const mime = mimeType(f.path);
    head += `Content-Type: ${mime ?? "application/octet-stream"}\r\n`;
    if (mime === null && !h.disposition) {
      const base = f.path.slice(f.path.lastIndexOf("/") + 1).replace(/["\\\r\n]/g, "_");
      head += `Content-Disposition: attachment; filename="${base}"\r\n`;
    }
  }
  head += `Last-Modified: ${new Date(f.mtimeMs).toUTCString()}\r\nAccept-Ranges: bytes\r\n${range}`;
  if (status === 304) return completeResponse(s, conn, head + "\r\n");
  head += `Content-Length: ${count}\r\n\r\n`;
  if (s.isHead || count === 0) return completeResponse(s, conn, head);
  let fd: number;
  try {
    fd = runtime.files.openRead(f.path);
  } catch {
    // Gone since withFile(): the head is not sent yet, so answer 404 instead.
    return encodeResponse(s, conn, new Response(404, {}, "<h3>404 Not Found</h3>"));
  }
  const first = new Uint8Array(Math.min(count, SMALL_FILE));
  let got = 0;
  try {
    got = runtime.files.read(fd, first, start);
  } catch { /* handled as a short read */ }
  if (got < first.length) {
    runtime.files.close(fd);
    return encodeResponse(s, conn, new Response(500, {}, "<h3>500 file read error</h3>"));
  }
  const out = concat(utf8Encode(head), first);
  if (count === first.length) {
    runtime.files.close(fd);
    return completeResponse(s, conn, out);
  }
  s.stream = STREAM_FILE;
  const stream = new FileStream(fd, start + got, count - got, conn, () => {
    if (s.file !== stream) return;
    s.file = null;
    completeResponse(s, conn, "");
  });
  s.file = stream;
  // After this send() has queued the head and first piece.
  queueMicrotask(() => stream.pump());
  return out;
}
