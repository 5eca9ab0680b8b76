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
import { acceptsGzip, compressible, FORCED, gzipBody, type GzipSettings } from "./compress.ts";
import { FILE_PIECE, FileStream, type Segment } from "./file_stream.ts";
import { mimeType } from "./mime.ts";
import {
  type ByteRange,
  fileETag,
  ifMatchHolds,
  ifRangeHolds,
  noneMatch,
  notModifiedSince,
  parseRanges,
  unmodifiedSince,
} from "./ranges.ts";
import { checkHeader, Chunk, REASONS, Response, ServerSentEvents } from "./response.ts";
import { randomHex } from "./session.ts";
import {
  completeResponse,
  type Conn,
  HttpState,
  STREAM_CHUNKED,
  STREAM_FILE,
  STREAM_NONE,
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

// Flags gathered from the user's headers by userHeaders() (one shared scratch object).
const seen = {
  lines: "",
  type: false,
  typeLine: "",
  encoding: false,
  vary: false,
  server: false,
  date: false,
  length: -1,
  chunked: false,
  eventStream: false,
  close: false,
  disposition: false,
};

/** The user's header lines (validated) and what they say. Skips the ones the protocol writes itself. */
function userHeaders(r: Response): typeof seen {
  seen.lines = seen.typeLine = "";
  seen.type =
    seen.encoding =
    seen.vary =
    seen.server =
    seen.date =
    seen.chunked =
    seen.eventStream =
    seen.close =
    seen.disposition =
      false;
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
        seen.typeLine = `${name}: ${String(value)}\r\n`;
        if (/^\s*text\/event-stream/i.test(String(value))) seen.eventStream = true;
        break;
      case "content-disposition":
        seen.disposition = true;
        break;
      case "content-encoding":
        seen.encoding = true;
        break;
      case "vary":
        seen.vary = true;
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
  let s = conn.__http as HttpState | undefined;
  if (s === undefined) s = conn.__http = new HttpState();
  if (s.keepAlive && s.busy && s.stream === STREAM_NONE && conn.closesAfterAnswer?.()) {
    // The process is stopping and this response (its head not sent yet) is the connection's
    // last: say so, as nginx does while shutting down, so that the client sends its next
    // request on a new connection instead of on this one, which closes after the response.
    s.keepAlive = false;
    s.closing = true;
  }
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
  if (s.gzip !== null && body.length >= s.gzip.minSize) return encodeResponse(s, conn, new Response(200, {}, body));
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
  let bytes = typeof body === "string" ? (body.length > 1024 ? utf8Encode(body) : null) : body;
  let length = bytes !== null ? bytes.length : utf8Length(body as string);
  let head = encodeHead(s, r, status, h, false) + type;
  const z = noBody ? null : gzipFor(s, r, h, status);
  if (z !== null && length >= (r._compress === true ? 1 : z.minSize)) {
    bytes = gzipBody(bytes ?? body, z);
    length = bytes.length;
    head += h.vary ? "Content-Encoding: gzip\r\n" : "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n";
  }
  if (!noBody) head += `Content-Length: ${s.isHead && h.length >= 0 ? h.length : length}\r\n`;
  else if (status === 304 && h.length >= 0) head += `Content-Length: ${h.length}\r\n`;
  head += "\r\n";
  if (s.isHead || noBody || length === 0) return completeResponse(s, conn, head);
  return completeResponse(s, conn, bytes === null ? head + body : concat(utf8Encode(head), bytes));
}

/** The gzip settings to compress this response's body with, or null to send it as it is (see compress.ts). */
function gzipFor(s: HttpState, r: Response, h: typeof seen, status: number): GzipSettings | null {
  const asked = r._compress;
  if (asked === false || h.encoding || status === 206) return null;
  const settings = asked === true ? (s.gzip ?? FORCED) : s.gzip;
  if (settings === null || s.current === null) return null;
  if (asked !== true && h.type && !compressible(h.typeLine.slice(h.typeLine.indexOf(":") + 1))) return null;
  return acceptsGzip(s.current.header("accept-encoding") as string | null) ? settings : null;
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

/** What a file response sends: status, the Content-Range line, and the ranges of the body. */
interface FilePlan {
  status: number;
  contentRange: string;
  ranges: ByteRange[];
}

/**
 * Status and ranges of a file response: a `withFile(path, offset, length)` part, else what the
 * request's conditional headers and `Range` ask (412, 304, 206, 416, or 200 with the whole
 * file), evaluated in the order of RFC 9110 §13.2.2.
 */
function planFile(s: HttpState, r: Response, etag: string): FilePlan {
  const f = r._file!;
  const size = f.size;
  const whole: FilePlan = { status: r._status, contentRange: "", ranges: size > 0 ? [[0, size - 1]] : [] };
  if (f.offset > 0 || f.length > 0) {
    const start = Math.min(f.offset, size);
    const count = f.length > 0 ? Math.min(f.length, size - start) : size - start;
    return {
      status: r._status === 200 ? 206 : r._status,
      contentRange: `Content-Range: bytes ${start}-${start + count - 1}/${size}\r\n`,
      ranges: count > 0 ? [[start, start + count - 1]] : [],
    };
  }
  const req = s.current;
  if (r._status !== 200 || req === null) return whole;
  const ifMatch = req.header("if-match") as string | null;
  const ifUnmodified = ifMatch === null ? req.header("if-unmodified-since") as string | null : null;
  if (
    (ifMatch !== null && !ifMatchHolds(ifMatch, etag)) ||
    (ifUnmodified !== null && !unmodifiedSince(ifUnmodified, f.mtimeMs))
  ) {
    return { status: 412, contentRange: "", ranges: [] };
  }
  const inm = req.header("if-none-match") as string | null;
  const since = inm === null ? req.header("if-modified-since") as string | null : null;
  if ((inm !== null && noneMatch(inm, etag)) || (since !== null && notModifiedSince(since, f.mtimeMs))) {
    return { status: 304, contentRange: "", ranges: [] };
  }
  const wanted = req.header("range") as string | null;
  if (wanted === null) return whole;
  const ifRange = req.header("if-range") as string | null;
  if (ifRange !== null && !ifRangeHolds(ifRange, etag, f.mtimeMs)) return whole;
  const ranges = parseRanges(wanted, size);
  if (ranges === null) return whole;
  if (ranges === "unsatisfiable") {
    return { status: 416, contentRange: `Content-Range: bytes */${size}\r\n`, ranges: [] };
  }
  const [first, last] = ranges[0];
  const contentRange = ranges.length === 1 ? `Content-Range: bytes ${first}-${last}/${size}\r\n` : "";
  return { status: 206, contentRange, ranges };
}

/** The file's Content-Type: the user's, else by extension (unknown types download as an attachment). */
function fileType(path: string, h: typeof seen): { line: string; value: string } {
  if (h.type) return { line: "", value: h.typeLine.slice(h.typeLine.indexOf(":") + 1).trim() };
  const mime = mimeType(path);
  let line = `Content-Type: ${mime ?? "application/octet-stream"}\r\n`;
  if (mime === null && !h.disposition) {
    const base = path.slice(path.lastIndexOf("/") + 1).replace(/["\\\r\n]/g, "_");
    line += `Content-Disposition: attachment; filename="${base}"\r\n`;
  }
  return { line, value: mime ?? "application/octet-stream" };
}

function encodeFile(s: HttpState, conn: Conn, r: Response): string | Uint8Array {
  const f = r._file!;
  const etag = fileETag(f.size, f.mtimeMs);
  const plan = planFile(s, r, etag);
  const h = userHeaders(r);
  const type = fileType(f.path, h);
  const multipart = plan.ranges.length > 1;
  let head = encodeHead(s, r, plan.status, h, false);
  if (multipart && h.type) head = head.replace(h.typeLine, ""); // it names the type of each part instead
  head += `Last-Modified: ${new Date(f.mtimeMs).toUTCString()}\r\nETag: ${etag}\r\nAccept-Ranges: bytes\r\n`;
  if (plan.status === 304) return completeResponse(s, conn, head + "\r\n");
  if (multipart) return encodeByteRanges(s, conn, f.path, f.size, type.value, head, plan.ranges);
  head += type.line + plan.contentRange;
  const range = plan.ranges[0];
  const count = range === undefined ? 0 : range[1] - range[0] + 1;
  head += `Content-Length: ${count}\r\n\r\n`;
  if (s.isHead || count === 0) return completeResponse(s, conn, head);
  const fd = openFile(f.path);
  if (fd === null) return notFound(s, conn);
  const first = new Uint8Array(Math.min(count, SMALL_FILE));
  let got = 0;
  try {
    got = runtime.files.read(fd, first, range[0]);
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
  streamFile(s, conn, fd, [{ position: range[0] + got, length: count - got }]);
  return out;
}

/** Several ranges: a multipart/byteranges body, each part with its own Content-Type and Content-Range. */
function encodeByteRanges(
  s: HttpState,
  conn: Conn,
  path: string,
  size: number,
  type: string,
  head: string,
  ranges: ByteRange[],
): string | Uint8Array {
  const boundary = randomHex(12);
  const segments: Segment[] = [];
  let length = 0;
  for (let i = 0; i < ranges.length; i++) {
    const [first, last] = ranges[i];
    const partHead = utf8Encode(
      `${
        i === 0 ? "" : "\r\n"
      }--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${first}-${last}/${size}\r\n\r\n`,
    );
    segments.push(partHead, { position: first, length: last - first + 1 });
    length += partHead.length + last - first + 1;
  }
  const end = utf8Encode(`\r\n--${boundary}--\r\n`);
  segments.push(end);
  length += end.length;
  head += `Content-Type: multipart/byteranges; boundary=${boundary}\r\nContent-Length: ${length}\r\n\r\n`;
  if (s.isHead) return completeResponse(s, conn, head);
  const fd = openFile(path);
  if (fd === null) return notFound(s, conn);
  streamFile(s, conn, fd, segments);
  return head;
}

function openFile(path: string): number | null {
  try {
    return runtime.files.openRead(path);
  } catch {
    return null;
  }
}

/** Gone since withFile(): the head is not sent yet, so answer 404 instead. */
function notFound(s: HttpState, conn: Conn): string | Uint8Array {
  return encodeResponse(s, conn, new Response(404, {}, "<h3>404 Not Found</h3>"));
}

/**
 * Send the rest of a file response with back-pressure. Its last piece completes the response
 * (so the send of it is the one after which the connection is idle, or closes).
 */
function streamFile(s: HttpState, conn: Conn, fd: number, segments: Segment[]): void {
  s.stream = STREAM_FILE;
  const stream = new FileStream(fd, segments, conn, (last) => {
    if (s.file !== stream) return;
    s.file = null;
    const out = completeResponse(s, conn, last);
    if (out.length > 0) conn.send(out, true);
  });
  s.file = stream;
  // After this send() has queued the head and first piece.
  queueMicrotask(() => stream.pump());
}
