/**
 * `Response`, `Chunk` and `ServerSentEvents`: what an `http://` handler passes to `conn.send()`.
 *
 * `with*` methods change the response and return it (as Workerman's do), so they chain:
 * `conn.send(new Response(201).withHeader("X-Id", "7").withBody("made"))`. The protocol adds
 * `Server`, `Date`, `Connection` and `Content-Length` (from the body: a `Content-Length` set by
 * hand is honoured only for HEAD and 304 answers, so the framing is always right) and
 * `Content-Type: text/html;charset=utf-8` unless set.
 *
 * @example
 * ```ts
 * import { Response, Worker } from "workerman-ts";
 * const http = new Worker("http://0.0.0.0:8080");
 * http.onMessage = (conn, request) => {
 *   if (request.path() === "/download") return conn.send(new Response().withFile("/srv/big.iso"));
 *   conn.send(new Response(200, { "Content-Type": "application/json" }, JSON.stringify({ ok: true })));
 * };
 * Worker.runAll();
 * ```
 *
 * @module
 */
import { utf8Decode, utf8Encode } from "../../core/bytes.ts";
import { runtime } from "../../runtime/mod.ts";
import { HttpError } from "./errors.ts";

/** Standard reason phrases (RFC 9110 and friends). */
export const REASONS: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  102: "Processing",
  103: "Early Hints",
  200: "OK",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  207: "Multi-Status",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  418: "I'm a teapot",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  425: "Too Early",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
};

/** A header value: one line, or one line per item. */
export type HeaderValue = string | number | (string | number)[];

/** Cookie attributes for {@link Response.cookie}. */
export interface CookieOptions {
  /** Seconds; 0 or negative expires the cookie now. */
  maxAge?: number | null;
  /** An absolute expiry (`Expires`). */
  expires?: Date;
  /** The `Path` the cookie applies to. */
  path?: string;
  /** The `Domain` the cookie applies to. */
  domain?: string;
  /** Send the cookie over HTTPS only. */
  secure?: boolean;
  /** Hide the cookie from scripts. */
  httpOnly?: boolean;
  /** The `SameSite` attribute ("" leaves it out). */
  sameSite?: "Strict" | "Lax" | "None" | "";
}

/** A file to send as the body (see {@link Response.withFile}). */
export interface FileBody {
  /** The file's path. */
  path: string;
  /** Where the body starts in the file. */
  offset: number;
  /** 0 = to the end of the file. */
  length: number;
  /** The file's size in bytes. */
  size: number;
  /** The file's modification time (ms since the epoch), for `Last-Modified` and the ETag. */
  mtimeMs: number;
}

const BAD_HEADER_NAME = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const BAD_HEADER_VALUE = /[\r\n\0]/;

/** Throws when a header could split the response (CR, LF or NUL, or a name that is not a token). */
export function checkHeader(name: string, value: string): void {
  if (name === "" || BAD_HEADER_NAME.test(name)) {
    throw new HttpError("ERR_HTTP_INVALID_HEADER", `invalid header name ${JSON.stringify(name)}`, 500);
  }
  if (BAD_HEADER_VALUE.test(value)) {
    throw new HttpError("ERR_HTTP_INVALID_HEADER", `header ${name} holds CR, LF or NUL: ${JSON.stringify(value)}`, 500);
  }
}

/** An HTTP response: status, headers, a body (or a file to stream); `conn.send(response)` sends it. */
export class Response {
  /** @ignore @internal */ _status: number;
  /** @ignore @internal */ _reason: string | null = null;
  /** @ignore @internal null while there are none (the common case costs nothing). */
  _headers: Record<string, HeaderValue> | null = null;
  /** @ignore @internal */ _body: string | Uint8Array;
  /** @ignore @internal */ _version = "1.1";
  /** @ignore @internal */ _file: FileBody | null = null;
  /** @ignore @internal true/false: this response asked for gzip or refused it; null: the protocol's `gzip` option decides. */
  _compress: boolean | null = null;

  /** A response with `status`, `headers` and `body`. */
  constructor(status = 200, headers: Record<string, HeaderValue> = {}, body: string | Uint8Array = "") {
    this._status = status;
    this._body = body;
    // A copy only when there are headers (most responses are built without): the first key found ends the loop.
    for (const _ in headers) {
      this._headers = { ...headers };
      break;
    }
  }

  /** The header name as stored, for `name` in any case. */
  private _find(name: string): string | null {
    const headers = this._headers;
    if (headers === null) return null;
    if (Object.hasOwn(headers, name)) return name;
    const lower = name.toLowerCase();
    for (const key in headers) if (key.toLowerCase() === lower) return key;
    return null;
  }

  /** Set a header (replacing one of the same name in any case). An array value sends one line per item. */
  withHeader(name: string, value: HeaderValue): this {
    const existing = this._find(name);
    if (existing !== null && existing !== name) delete this._headers![existing];
    (this._headers ??= {})[name] = value;
    return this;
  }
  /** Same as {@link withHeader} (Workerman's name). */
  header(name: string, value: HeaderValue): this {
    return this.withHeader(name, value);
  }
  /** Set several headers. */
  withHeaders(headers: Record<string, HeaderValue>): this {
    for (const name in headers) this.withHeader(name, headers[name]);
    return this;
  }
  /** Remove a header (any case). */
  withoutHeader(name: string): this {
    const existing = this._find(name);
    if (existing !== null) delete this._headers![existing];
    return this;
  }
  /** The value of a header (any case), or null. */
  getHeader(name: string): HeaderValue | null {
    const existing = this._find(name);
    return existing === null ? null : this._headers![existing];
  }
  /** Every header as set. */
  getHeaders(): Record<string, HeaderValue> {
    return { ...this._headers };
  }
  /** Set the status (and a reason phrase other than the standard one); a reason with CR, LF or NUL throws ERR_HTTP_INVALID_HEADER. */
  withStatus(code: number, reason: string | null = null): this {
    if (reason !== null && BAD_HEADER_VALUE.test(reason)) {
      throw new HttpError(
        "ERR_HTTP_INVALID_HEADER",
        `reason phrase holds CR, LF or NUL: ${JSON.stringify(reason)}`,
        500,
      );
    }
    this._status = code;
    this._reason = reason;
    return this;
  }
  /** The status code. */
  getStatusCode(): number {
    return this._status;
  }
  /** The reason phrase (the standard one unless set). */
  getReasonPhrase(): string {
    return this._reason ?? REASONS[this._status] ?? "";
  }
  /** `"1.1"` or `"1.0"` (any `<digit>.<digit>`; anything else throws ERR_HTTP_INVALID_HEADER). */
  withProtocolVersion(version: string): this {
    if (!/^\d\.\d$/.test(version)) {
      throw new HttpError(
        "ERR_HTTP_INVALID_HEADER",
        `protocol version must be <digit>.<digit>: ${JSON.stringify(version)}`,
        500,
      );
    }
    this._version = version;
    return this;
  }
  /** Replace the body. */
  withBody(body: string | Uint8Array): this {
    this._body = body;
    this._file = null;
    return this;
  }
  /** The body as set. */
  rawBody(): string | Uint8Array {
    return this._body;
  }

  /**
   * gzip this response's body when the client accepts gzip (`true`, whatever its type and
   * size), or never (`false`); by default the protocol's `gzip` option decides. Files and
   * chunked or event-stream bodies are never compressed.
   */
  withCompression(on = true): this {
    this._compress = on;
    return this;
  }

  /**
   * Send a file as the body: its MIME type (or `application/octet-stream` as an attachment),
   * `Last-Modified`, `Accept-Ranges`; `If-Modified-Since` → 304 and `Range` → 206 when the
   * request asks; streamed with back-pressure, never read whole into memory. With `offset`
   * and/or `length` only that part is sent (206 with `Content-Range`). A path that is not a
   * readable file answers 404.
   */
  withFile(path: string, offset = 0, length = 0): this {
    const st = runtime.files.stat(path);
    if (!st || !st.isFile) {
      this._file = null;
      return this.withStatus(404).withBody("<h3>404 Not Found</h3>");
    }
    this._file = { path, offset: Math.max(0, offset), length: Math.max(0, length), size: st.size, mtimeMs: st.mtimeMs };
    return this;
  }
  /** The file set by {@link withFile}, or null. */
  getFile(): FileBody | null {
    return this._file;
  }

  /**
   * Add a `Set-Cookie`. Either an options object, or Workerman's positional
   * `(name, value, maxAge, path, domain, secure, httpOnly, sameSite)`.
   */
  cookie(
    name: string,
    value = "",
    maxAgeOrOptions: number | null | CookieOptions = null,
    path = "",
    domain = "",
    secure = false,
    httpOnly = false,
    sameSite: CookieOptions["sameSite"] = "",
  ): this {
    const o: CookieOptions = maxAgeOrOptions !== null && typeof maxAgeOrOptions === "object"
      ? maxAgeOrOptions
      : { maxAge: maxAgeOrOptions, path, domain, secure, httpOnly, sameSite };
    let line = `${name}=${encodeURIComponent(value)}`;
    if (o.domain) line += `; Domain=${o.domain}`;
    if (o.maxAge !== null && o.maxAge !== undefined) line += `; Max-Age=${Math.trunc(o.maxAge)}`;
    if (o.expires) line += `; Expires=${o.expires.toUTCString()}`;
    if (o.path) line += `; Path=${o.path}`;
    if (o.secure) line += "; Secure";
    if (o.httpOnly) line += "; HttpOnly";
    if (o.sameSite) line += `; SameSite=${o.sameSite}`;
    checkHeader("Set-Cookie", line);
    const existing = this.getHeader("Set-Cookie");
    const list = existing === null ? [] : Array.isArray(existing) ? existing : [existing];
    return this.withHeader("Set-Cookie", [...list, line]);
  }
}

/** `n.toString(16)` for a chunk size. */
function hex(n: number): string {
  return n.toString(16);
}

/**
 * One piece of a chunked response (`Transfer-Encoding: chunked` on the Response that starts
 * it). `new Chunk("")` ends the response.
 */
export class Chunk {
  /** The chunk's content (empty: the last chunk). */
  readonly data: string | Uint8Array;
  /** A chunk of a `Transfer-Encoding: chunked` response; `new Chunk("")` ends it. */
  constructor(data: string | Uint8Array = "") {
    this.data = data;
  }
  /** The chunk as it goes on the wire (for a string body). */
  toString(): string {
    const bytes = typeof this.data === "string" ? utf8Encode(this.data) : this.data;
    if (bytes.length === 0) return "0\r\n\r\n";
    return `${hex(bytes.length)}\r\n${typeof this.data === "string" ? this.data : utf8Decode(bytes)}\r\n`;
  }
}

/** Fields of one server-sent event; the `""` key is a comment line. */
export interface ServerSentEvent {
  /** A comment line. */
  ""?: string;
  /** The event's type. */
  event?: string;
  /** The event's data (several lines allowed). */
  data?: string;
  /** The event's id (the client's `Last-Event-ID`). */
  id?: string | number;
  /** Milliseconds the client waits before reconnecting. */
  retry?: number;
}

/** Removes line breaks from a single-line field, so no event can be injected through it. */
function oneLine(value: string | number): string {
  return String(value).replace(/[\r\n]+/g, " ");
}

/**
 * One event of a `text/event-stream` response (a Response with that Content-Type starts the
 * stream): `: comment`, `event:`, `id:`, `retry:`, `data:` lines (each line of `data` becomes
 * its own `data:` line), then a blank line.
 */
export class ServerSentEvents {
  /** The event's fields. */
  readonly fields: ServerSentEvent;
  /** One event of a `text/event-stream` response. */
  constructor(fields: ServerSentEvent) {
    this.fields = fields;
  }
  /** The event as it is written to the stream. */
  toString(): string {
    const f = this.fields;
    let out = "";
    if (f[""] !== undefined) out += `: ${oneLine(f[""])}\n`;
    if (f.event !== undefined) out += `event: ${oneLine(f.event)}\n`;
    if (f.id !== undefined) out += `id: ${oneLine(f.id)}\n`;
    if (f.retry !== undefined) out += `retry: ${Math.trunc(Number(f.retry))}\n`;
    if (f.data !== undefined) out += `data: ${String(f.data).split(/\r\n|\r|\n/).join("\ndata: ")}\n`;
    return out + "\n";
  }
}
