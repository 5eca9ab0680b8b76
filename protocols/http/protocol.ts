/**
 * The `http://` protocol: framing of HTTP/1.1 requests (RFC 9112) on a TcpConnection; what the
 * application sends back is encoded by `encode.ts`, large bodies are received by `body.ts`.
 *
 * Per connection, an explicit state machine (kept on the connection as `conn.__http`):
 *
 * | phase       | input() returns                                        | decode() gives            |
 * | ----------- | ------------------------------------------------------ | ------------------------- |
 * | HEAD        | head length, or head + body when the body ≤ 1 MiB       | the {@link Request}       |
 * | BODY_START  | (the head of a larger or chunked body was framed)      | nothing; body receiver set up |
 * | BODY        | the next piece of body (≤ 1 MiB, never past its end)   | nothing, until the last piece: the Request |
 *
 * A large or chunked body is thus consumed piece by piece as it arrives: a multipart body's
 * files go straight to temp files, anything else is collected up to `maxBodySize`. Pieces that
 * complete no request decode to `NO_MESSAGE`: nothing reaches `onMessage`.
 *
 * Responses are answered in request order: while a request's response is not complete (an
 * async handler, a chunked or file response still streaming) the connection stops reading, so
 * pipelined requests wait their turn; it resumes once the response is complete. A request that
 * does not keep the connection alive (HTTP/1.0 without keep-alive, `Connection: close`) is the
 * last one read; its response closes the connection. A refused request is answered with a
 * short response naming the code (see `errors.ts`) and the connection is closed.
 *
 * @module
 */
import { reportError } from "../../core/log.ts";
import { NO_MESSAGE, type Protocol, type TimeoutKind } from "../../core/protocol.ts";
import { rejectionResponse } from "./errors.ts";
import { BodyReceiver } from "./body.ts";
import { type GzipOptions, type GzipSettings, gzipSettings } from "./compress.ts";
import { encodeMessage } from "./encode.ts";
import { findHeadEnd, INCOMPLETE, parseHead } from "./parser.ts";
import { Request } from "./request.ts";
import type { HttpMessage } from "./mod.ts";
import { type Conn, HttpState, PHASE_BODY, PHASE_BODY_START, PHASE_HEAD, STREAM_RAW } from "./state.ts";

/** Limits of the `http://` protocol; every one has a default. */
export interface HttpOptions {
  /**
   * Most bytes of a request head (request line and headers), and of a chunked trailer: 16 KiB →
   * 431 (414 when the head fills it before its request line ends: the target is what is long).
   */
  maxHeaderSize?: number;
  /** Most bytes of a request target (path and query): 16 KiB → 414. */
  maxTargetSize?: number;
  /** Most header fields in a request: 100 → 431. */
  maxHeaderCount?: number;
  /** Most bytes of a body held in memory (anything but multipart/form-data): 10 MiB → 413. */
  maxBodySize?: number;
  /** Most bytes of a multipart/form-data body, whose files go to temp files: 1 GiB → 413. */
  maxUploadSize?: number;
  /** Most file parts in one multipart body: 1024 → 413. */
  maxFileUploads?: number;
  /** Most ordinary fields in one multipart body: 1000 → 413. */
  maxFields?: number;
  /** Directory of upload temp files (default: the system temp dir). */
  uploadTmpDir?: string;
  /**
   * gzip responses of a compressible type (text, JSON, JavaScript, XML, SVG) from `minSize`
   * bytes on, for clients whose `Accept-Encoding` takes gzip: `true` for the defaults
   * (1 KiB, level 6). Off by default; one Response can also ask with `withCompression()`.
   */
  gzip?: boolean | GzipOptions;
  /** Seconds a keep-alive connection may stay idle between requests before it is closed: 60 (0 = no limit). */
  keepAliveTimeout?: number;
}

/** A body up to this size arrives with its head as one package. */
const INLINE_BODY = 1048576;
/** Most bytes of body handed over at a time (below any maxPackageSize). */
const BODY_PIECE = 1048576;

const CONTINUE = "HTTP/1.1 100 Continue\r\n\r\n";

const DEFAULTS: Required<HttpOptions> = {
  maxHeaderSize: 16384,
  maxTargetSize: 16384,
  maxHeaderCount: 100,
  maxBodySize: 10 * 1024 * 1024,
  maxUploadSize: 1024 * 1024 * 1024,
  maxFileUploads: 1024,
  maxFields: 1000,
  uploadTmpDir: "",
  gzip: false,
  keepAliveTimeout: 60,
};

/**
 * The `http://` protocol. `Http` (registered as "http") uses the default limits; for others,
 * set `worker.protocol = new HttpProtocol({ maxBodySize: ... })`.
 */
export class HttpProtocol implements Protocol<Request, HttpMessage, Conn> {
  /** The limits in force (defaults filled in). */
  readonly options: Required<HttpOptions>;

  private readonly _gzip: GzipSettings | null;

  /** An `http://` protocol with its own limits and options (see {@link HttpOptions}). */
  constructor(options: HttpOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
    this._gzip = gzipSettings(this.options.gzip);
  }

  /** How long the next package is (see the module doc). */
  input(buffer: Uint8Array, conn: Conn): number {
    let s = conn.__http as HttpState | undefined;
    if (s === undefined) {
      s = conn.__http = new HttpState();
      s.gzip = this._gzip;
    }
    if (s.phase !== PHASE_HEAD) return this._inputBody(s, buffer, conn);
    if (s.busy || s.closing) {
      // Answer in order: read the next request once this response is complete.
      if (!s.stopped) {
        s.stopped = true;
        conn.pauseRecv();
      }
      return 0;
    }
    const max = this.options.maxHeaderSize;
    let start = 0;
    while (buffer[start] === 13 && buffer[start + 1] === 10) start += 2; // empty lines before a request are ignored
    if (start === buffer.length - 1 && buffer[start] === 13) return 0; // maybe another empty line
    const info = s.info;
    let error: string;
    if (s.scan === 0) {
      // The common case: the whole head is in this read; validated and measured in one pass.
      error = parseHead(buffer, start, buffer.length, info, this.options);
      if (error === INCOMPLETE) {
        if (buffer.length > max) return this._tooLarge(s, conn, buffer, start);
        s.scan = buffer.length;
        return 0;
      }
    } else {
      // A head arriving in pieces: look for its end where the last look stopped, parse once complete.
      const end = findHeadEnd(buffer, start, s.scan > start ? s.scan : start);
      if (end <= 0) {
        if (end < 0) return this._reject(s, conn, "ERR_HTTP_BARE_LF");
        if (buffer.length > max) return this._tooLarge(s, conn, buffer, start);
        s.scan = buffer.length;
        return 0;
      }
      s.scan = 0;
      error = parseHead(buffer, start, end, info, this.options, true);
    }
    if (error !== "") return this._reject(s, conn, error);
    const end = info.end;
    if (end > max) return this._tooLarge(s, conn, buffer, start);
    if (info.chunked) {
      s.phase = PHASE_BODY_START;
      return end;
    }
    const length = info.contentLength;
    if (length <= 0) return end;
    if (length > (info.multipart ? this.options.maxUploadSize : this.options.maxBodySize)) {
      return this._reject(s, conn, "ERR_HTTP_BODY_TOO_LARGE");
    }
    if (length <= INLINE_BODY && end + length <= conn.maxPackageSize) {
      if (info.expectContinue && buffer.length < end + length) conn.send(CONTINUE, true);
      return end + length;
    }
    s.phase = PHASE_BODY_START;
    return end;
  }

  /** Frame a piece of a request body. */
  private _inputBody(s: HttpState, buffer: Uint8Array, conn: Conn): number {
    const body = s.body!;
    const piece = Math.min(BODY_PIECE, conn.maxPackageSize);
    if (body.chunked === null) return Math.min(buffer.length, body.remaining, piece);
    // Chunked: the framing is decoded here (and the data handed to the body) since only the
    // decoder knows where the body ends; the piece's decode() then only checks for the end.
    const n = body.chunked.feed(buffer, 0, Math.min(buffer.length, piece), body.onData);
    if (n < 0) return this._reject(s, conn, body.chunked.error);
    if (body.error !== "") return this._reject(s, conn, body.error);
    return n;
  }

  /** The Request of a framed package, or nothing for a piece of a body still arriving. */
  decode(pkg: Uint8Array, conn: Conn): Request | typeof NO_MESSAGE {
    const s = conn.__http as HttpState; // input() created it
    const info = s.info;
    if (s.phase === PHASE_HEAD) {
      const req = new Request(pkg, info);
      if (info.multipart && pkg.length > info.end) {
        const body = new BodyReceiver(req, info, this.options);
        body.write(pkg.subarray(info.end));
        if (body.error !== "") {
          body.abort();
          this._reject(s, conn, body.error);
          return NO_MESSAGE;
        }
        body.finish();
      }
      return this._deliver(s, conn, req);
    }
    if (s.phase === PHASE_BODY_START) {
      const body = new BodyReceiver(new Request(pkg, info), info, this.options);
      if (body.error !== "") {
        this._reject(s, conn, body.error);
        return NO_MESSAGE;
      }
      s.body = body;
      s.phase = PHASE_BODY;
      if (info.expectContinue) conn.send(CONTINUE, true);
      return NO_MESSAGE;
    }
    const body = s.body!;
    if (body.chunked === null) {
      body.remaining -= pkg.length;
      body.write(pkg);
      if (body.error !== "") {
        this._reject(s, conn, body.error);
        return NO_MESSAGE;
      }
      if (body.remaining > 0) return NO_MESSAGE;
    } else if (!body.chunked.done) {
      return NO_MESSAGE;
    }
    s.body = null;
    s.phase = PHASE_HEAD;
    return this._deliver(s, conn, body.finish());
  }

  /** A request is complete: pause reading until it is answered and hand it over. */
  private _deliver(s: HttpState, conn: Conn, req: Request): Request {
    req.connection = conn as never;
    s.busy = true;
    s.current = req;
    s.isHead = req.method() === "HEAD";
    s.keepAlive = req._keepAlive;
    s.minor = s.info.minor;
    if (!s.keepAlive) s.closing = true;
    return req;
  }

  /**
   * The head starting at `start` exceeds maxHeaderSize: refused with what is wrong in what has
   * arrived, else 414 when its request line alone fills the limit, else 431.
   */
  private _tooLarge(s: HttpState, conn: Conn, buffer: Uint8Array, start: number): number {
    const error = parseHead(buffer, start, buffer.length, s.info, this.options);
    if (error !== "" && error !== INCOMPLETE) return this._reject(s, conn, error);
    const lf = buffer.indexOf(10, start);
    const lineTooLong = lf === -1 || lf - start > this.options.maxHeaderSize;
    return this._reject(s, conn, lineTooLong ? "ERR_HTTP_URI_TOO_LONG" : "ERR_HTTP_HEADERS_TOO_LARGE");
  }

  /** Refuse: answer with the code, close the connection. */
  private _reject(s: HttpState, conn: Conn, code: string): number {
    s.closing = true;
    s.phase = PHASE_HEAD;
    if (s.body !== null) {
      s.body.abort();
      s.body = null;
    }
    conn.close(rejectionResponse(code), true);
    return 0;
  }

  /** True while a request head is expected or arriving: the connection's headerTimeout applies (then 408). */
  receivingHead(conn: Conn): boolean {
    const s = conn.__http as HttpState | undefined;
    if (s === undefined) return true; // nothing received yet: the first head is expected
    return s.phase === PHASE_HEAD && !s.busy && !s.closing && s.scan > 0;
  }

  /** Between requests on a keep-alive connection: `keepAliveTimeout`. */
  idleTimeout(conn: Conn): number | undefined {
    const s = conn.__http as HttpState | undefined;
    if (s === undefined || s.phase !== PHASE_HEAD || s.busy || s.scan > 0) return undefined;
    return this.options.keepAliveTimeout > 0 ? this.options.keepAliveTimeout : undefined;
  }

  /** A request head that did not arrive in time is answered with 408. */
  onTimeout(_conn: Conn, kind: TimeoutKind): string | undefined {
    return kind === "header" ? rejectionResponse("ERR_HTTP_REQUEST_TIMEOUT") : undefined;
  }

  /** Bytes for what the application sends (see `encode.ts`). */
  encode(data: HttpMessage, conn: Conn): string | Uint8Array {
    return encodeMessage(data, conn);
  }

  /**
   * A request body is arriving, or a request was delivered and its response is not complete,
   * so stopping the process waits for it (at most `stopTimeout`, unless graceful). A body that
   * ends when the connection closes (an event stream) does not count.
   */
  busy(conn: Conn): boolean {
    const s = conn.__http as HttpState | undefined;
    return s !== undefined && (s.phase !== PHASE_HEAD || (s.busy && s.stream !== STREAM_RAW));
  }

  /**
   * A graceful stop may close the connection between requests, as a keep-alive client expects
   * (it sends its next request on a new connection), and marks the response being sent as the
   * last; not while a request body is arriving, nor while an event stream, whose body ends with
   * the connection, is being sent: that one is left for the client to close.
   */
  closableWhenIdle(conn: Conn): boolean {
    const s = conn.__http as HttpState | undefined;
    return s === undefined || (s.phase === PHASE_HEAD && s.stream !== STREAM_RAW);
  }

  /** The connection closed: stop what is in flight and remove temp files. */
  onClose(conn: Conn): void {
    const s = conn.__http as HttpState | undefined;
    if (s === undefined) return;
    s.body?.abort();
    s.body = null;
    s.file?.abort();
    s.file = null;
    const req = s.current;
    s.current = null;
    if (req !== null) {
      const saving = req._finish();
      if (saving !== null) saving.catch((err) => reportError("http session save", err));
    }
  }
}

/** The shared `http://` protocol with the default limits. */
export const Http: HttpProtocol = new HttpProtocol();
