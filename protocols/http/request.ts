/**
 * `Request`: what an `http://` Worker's `onMessage` receives, with Workerman 4's API. Parsed
 * lazily: the protocol has validated the head and knows its offsets; the URI, the headers, the
 * query, the cookies and the form are each decoded the first time they are asked for.
 *
 * `get`, `post`, `header`, `cookie` and `file` return everything without a name, or the one
 * value (else `default`, null unless given). Header names are case-insensitive; a repeated
 * header's values are joined with ", " (cookies with "; ").
 *
 * @module
 */
import { utf8Decode, utf8Encode } from "../../core/bytes.ts";
import type { TcpConnection } from "../../core/tcp_connection.ts";
import { runtime } from "../../runtime/mod.ts";
import { httpError } from "./errors.ts";
import { boundaryOf, MultipartParser } from "./multipart.ts";
import { HeadInfo, type HeadLimits, INCOMPLETE, latin1, parseHead } from "./parser.ts";
import { type Form, formDecode, type FormValue, parseForm } from "./query.ts";
import { Session } from "./session.ts";
import { removeAll, UploadCollector, type UploadedFile, type UploadLimits } from "./upload.ts";

/** The files of a `name[]` or `name[key]` upload field: a list or a record of them. */
export type FormFiles = UploadedFile[] | { [key: string]: UploadedFile | FormFiles };

/** Limits used when a Request built by hand parses its own multipart body. */
export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  maxFileUploads: 1024,
  maxFields: 1000,
  maxFieldBytes: 10 * 1024 * 1024,
  tmpDir: "",
};

/** A head given by hand is already in memory: only its validity is checked. */
const BY_HAND: HeadLimits = { maxHeaderCount: 10000, maxTargetSize: Infinity };

/** One value of `obj` (or `def`), or all of `obj` when `name` is undefined; the overloads type it. */
// deno-lint-ignore no-explicit-any
function pick(obj: Record<string, unknown>, name: string | undefined, def: unknown): any {
  if (name === undefined) return obj;
  return Object.hasOwn(obj, name) ? obj[name] : def;
}

/**
 * Properties an application adds to requests (`request.user = ...`, as in PHP): declare them
 * once, typed, by declaration merging:
 * `declare module "workerman-ts" { interface RequestData { user: User } }`.
 */
// deno-lint-ignore no-empty-interface
export interface RequestData {}

/** A Request carries the application's {@link RequestData}. */
export interface Request extends RequestData {}

/** An HTTP request as `onMessage` receives it on an `http://` Worker (parsed lazily). */
export class Request {
  /** The connection the request arrived on (null for a Request built by hand). */
  connection: TcpConnection | null = null;

  /** @ignore @internal the bytes holding the head (and, for a small body, the body after it) */
  _buf: Uint8Array;
  private readonly _start: number;
  private readonly _end: number;
  private readonly _method: string;
  private readonly _targetStart: number;
  private readonly _targetEnd: number;
  private readonly _minor: number;
  /** @ignore @internal */ readonly _keepAlive: boolean;
  /** @ignore @internal set when the body did not come inside `_buf` */
  _bodyBytes: Uint8Array | null = null;
  /** @ignore @internal */ _tmpFiles: string[] | null = null;
  /** @ignore @internal a new session id to hand to the client in the response */
  _setCookie: string | null = null;
  /** @ignore @internal */ _post: Form | null = null;
  /** @ignore @internal */ _files: Form | null = null;
  private _uri: string | null = null;
  private _headers: Record<string, string> | null = null;
  private _get: Form | null = null;
  private _cookie: Record<string, string> | null = null;
  private _sid: string | null = null;
  private _session: Promise<Session> | null = null;

  /**
   * Parse a raw request (head and optional body). The protocol passes the head it already
   * validated as `head`; by hand, the head is validated here and an invalid one throws an
   * HttpError with the same code the server would answer with.
   */
  constructor(buffer: Uint8Array | string, head?: HeadInfo) {
    const buf = typeof buffer === "string" ? utf8Encode(buffer) : buffer;
    let info = head;
    if (info === undefined) {
      info = new HeadInfo();
      let start = 0;
      while (buf[start] === 13 && buf[start + 1] === 10) start += 2;
      const error = parseHead(buf, start, buf.length, info, BY_HAND);
      if (error === INCOMPLETE) throw httpError("ERR_HTTP_VERSION", "the head does not end with an empty line");
      if (error !== "") throw httpError(error);
    }
    this._buf = buf;
    this._start = info.start;
    this._end = info.end;
    this._method = info.method;
    this._targetStart = info.targetStart;
    this._targetEnd = info.targetEnd;
    this._minor = info.minor;
    this._keepAlive = info.keepAlive;
  }

  /** The request method (`GET`, `POST`, ...). */
  method(): string {
    return this._method;
  }
  /** The request target as sent: path and query (`/a/b?c=1`). */
  uri(): string {
    return (this._uri ??= latin1(this._buf, this._targetStart, this._targetEnd));
  }
  /** The path part of the URI, still percent-encoded (`/a%20b`). */
  path(): string {
    let uri = this.uri();
    if (uri[0] !== "/") { // absolute-form (http://host/path) or * / authority-form
      const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/.exec(uri);
      if (m) uri = uri.slice(m[0].length) || "/";
    }
    const q = uri.indexOf("?");
    return q === -1 ? uri : uri.slice(0, q);
  }
  /** The part after `?` ("" when there is none). */
  queryString(): string {
    const uri = this.uri();
    const q = uri.indexOf("?");
    return q === -1 ? "" : uri.slice(q + 1);
  }
  /** "1.1" or "1.0". */
  protocolVersion(): string {
    return `1.${this._minor}`;
  }
  /** True when the connection stays open after this request (RFC 9112 §9.3). */
  keepAlive(): boolean {
    return this._keepAlive;
  }

  /** Every header (names lower-cased), or one header's value. */
  header(): Record<string, string>;
  /** One header's value (name in any case), null when absent. */
  header(name: string): string | null;
  /** One header's value, or `def` when absent. */
  header<D>(name: string, def: D): string | D;
  header(name?: string, def: unknown = null): unknown {
    return pick(this._headers ??= this._parseHeaders(), name?.toLowerCase(), def);
  }

  /** The headers by lower-case name (repeated ones joined with `, `, cookies with `; `). */
  private _parseHeaders(): Record<string, string> {
    const headers: Record<string, string> = Object.create(null);
    const text = utf8Decode(this._buf.subarray(this._start, this._end - 4));
    let i = text.indexOf("\r\n");
    while (i !== -1) {
      const next = text.indexOf("\r\n", i + 2);
      const line = text.slice(i + 2, next === -1 ? text.length : next);
      i = next;
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prev = headers[name];
      headers[name] = prev === undefined ? value : `${prev}${name === "cookie" ? "; " : ", "}${value}`;
    }
    return headers;
  }

  /** The Host header, optionally without its port; null when there is none. */
  host(withoutPort = false): string | null {
    const host = this.header("host") as string | null;
    if (host === null || !withoutPort) return host;
    if (host[0] === "[") {
      const end = host.indexOf("]");
      return end === -1 ? host : host.slice(0, end + 1);
    }
    const colon = host.indexOf(":");
    return colon === -1 ? host : host.slice(0, colon);
  }

  /** The query (`parse_str` rules: `b[]=2` → `{ b: ["2"] }`), or one value. */
  get(): Form;
  /** One query parameter, null when absent. */
  get(name: string): FormValue | null;
  /** One query parameter, or `def` when absent. */
  get<D>(name: string, def: D): FormValue | D;
  get(name?: string, def: unknown = null): unknown {
    return pick(this._get ??= parseForm(this.queryString()), name, def);
  }

  /**
   * The form: multipart/form-data fields, a JSON body when the Content-Type says json (an
   * invalid one gives `{}`), otherwise the body read as urlencoded.
   */
  post(): Form;
  /** One form (or JSON body) field, null when absent. */
  post(name: string): FormValue | null;
  /** One form (or JSON body) field, or `def` when absent. */
  post<D>(name: string, def: D): FormValue | D;
  post(name?: string, def: unknown = null): unknown {
    if (this._post === null) this._parseBody();
    return pick(this._post!, name, def);
  }

  /** Uploaded files (`{ name, tmp_name, size, error, type }` each), or one of them. */
  file(): Form;
  /** One uploaded file (a list or record of them for `name[]` / `name[key]` fields), null when absent. */
  file(name: string): UploadedFile | FormFiles | null;
  file(name?: string): unknown {
    if (this._files === null) this._parseBody();
    return pick(this._files!, name, null);
  }

  /** Parse the body into `post()` and `file()` (multipart, JSON or urlencoded). */
  private _parseBody(): void {
    const type = (this.header("content-type") as string | null) ?? "";
    const boundary = /^multipart\/form-data/i.test(type) ? boundaryOf(type) : null;
    this._files = {};
    if (boundary !== null) {
      // Only a Request built by hand gets here: the protocol parses multipart bodies as they arrive.
      const sink = new UploadCollector({
        ...DEFAULT_UPLOAD_LIMITS,
        tmpDir: DEFAULT_UPLOAD_LIMITS.tmpDir || runtime.tempDir(),
      });
      try {
        new MultipartParser(boundary, sink).write(this.rawBodyBytes());
      } catch {
        sink.abort();
      }
      this._post = sink.post;
      this._files = sink.files;
      (this._tmpFiles ??= []).push(...sink.tmpFiles);
      return;
    }
    const body = this.rawBody();
    if (/\bjson\b/i.test(type)) {
      try {
        const value = JSON.parse(body);
        this._post = value !== null && typeof value === "object" ? value : {};
      } catch {
        this._post = {};
      }
      return;
    }
    this._post = parseForm(body);
  }

  /** Every cookie, or one (values percent-decoded). */
  cookie(): Record<string, string>;
  /** One cookie, null when absent. */
  cookie(name: string): string | null;
  /** One cookie, or `def` when absent. */
  cookie<D>(name: string, def: D): string | D;
  cookie(name?: string, def: unknown = null): unknown {
    if (this._cookie === null) {
      const cookies: Record<string, string> = Object.create(null);
      const header = this.header("cookie") as string | null;
      if (header !== null) {
        for (const part of header.split(";")) {
          const eq = part.indexOf("=");
          if (eq === -1) continue;
          const key = part.slice(0, eq).trim();
          if (key === "" || key in cookies) continue;
          let value = part.slice(eq + 1).trim();
          if (value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') value = value.slice(1, -1);
          cookies[key] = value.indexOf("%") === -1 ? value : formDecode(value.replaceAll("+", "%2B"));
        }
      }
      this._cookie = cookies;
    }
    return pick(this._cookie, name, def);
  }

  /** The head as sent, without the blank line that ends it. */
  rawHead(): string {
    return utf8Decode(this._buf.subarray(this._start, this._end - 4));
  }
  /** The body as UTF-8 text. */
  rawBody(): string {
    return utf8Decode(this.rawBodyBytes());
  }
  /** The body as bytes. */
  rawBodyBytes(): Uint8Array {
    return this._bodyBytes ?? this._buf.subarray(this._end);
  }

  /** The session id: from the session cookie when it is valid, else a new one (sent back in a Set-Cookie). */
  sessionId(newId?: string): string {
    if (newId !== undefined) {
      if (!Session.isValidId(newId)) {
        throw httpError("ERR_HTTP_SESSION_ID", "a session id is 16-128 letters and digits");
      }
      this._sid = newId;
      this._setCookie = Session.cookieLine(newId);
      this._session = null;
      return newId;
    }
    if (this._sid === null) {
      const sent = this.cookie(Session.sessionName);
      if (Session.isValidId(sent)) this._sid = sent;
      else {
        this._sid = Session.createSessionId();
        this._setCookie = Session.cookieLine(this._sid);
      }
    }
    return this._sid;
  }

  /** The request's {@link Session}, loaded through `Session.handler`; saved when the response is sent. */
  session(): Promise<Session> {
    return (this._session ??= Session.load(this.sessionId()));
  }

  /** The client's IP (of the connection the request arrived on). */
  getRemoteIp(): string {
    return this.connection?.getRemoteIp() ?? "";
  }
  /** The client's port. */
  getRemotePort(): number {
    return this.connection?.getRemotePort() ?? 0;
  }
  /** `ip:port` of the client. */
  getRemoteAddress(): string {
    return this.connection?.getRemoteAddress() ?? "";
  }
  /** The server's IP the request arrived at. */
  getLocalIp(): string {
    return this.connection?.getLocalIp() ?? "";
  }
  /** The server's port the request arrived at. */
  getLocalPort(): number {
    return this.connection?.getLocalPort() ?? 0;
  }

  /** @ignore
   * @internal The response has been sent: remove the temp files and save the session if it
   * changed. Returns the save (so errors can be reported), or null.
   */
  _finish(): Promise<void> | null {
    if (this._tmpFiles !== null) removeAll(this._tmpFiles);
    const session = this._session;
    if (session === null) return null;
    return session.then((s) => s.save());
  }

  /** The raw request: head and body as text. */
  toString(): string {
    return utf8Decode(this._buf.subarray(0, this._end)) + this.rawBody();
  }
}
