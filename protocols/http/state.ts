/**
 * The per-connection state of the `http://` protocol (kept on the connection as `conn.__http`),
 * and what happens when a response is complete.
 *
 * @module
 */
import { reportError } from "../../core/log.ts";
import type { ProtocolConnection } from "../../core/protocol.ts";
import type { BodyReceiver } from "./body.ts";
import type { GzipSettings } from "./compress.ts";
import type { FileStream } from "./file_stream.ts";
import { HeadInfo } from "./parser.ts";
import type { Request } from "./request.ts";

/** A connection as the `http://` protocol sees it: with its state in `__http`. */
export type Conn = ProtocolConnection & {
  /**
   * The protocol's state of this connection: an `HttpState` (internal, so typed as an opaque
   * object here; the protocol's code reads it as `conn.__http as HttpState | undefined`).
   * @internal
   */
  __http?: object;
};

export const PHASE_HEAD = 0;
export const PHASE_BODY_START = 1;
export const PHASE_BODY = 2;

export const STREAM_NONE = 0;
/** A chunked response is being sent. */
export const STREAM_CHUNKED = 1;
/** A body delimited by closing the connection (event stream; chunks to an HTTP/1.0 client). */
export const STREAM_RAW = 2;
/** A file is being streamed. */
export const STREAM_FILE = 3;

/** Per-connection state (`conn.__http`). */
export class HttpState {
  phase = PHASE_HEAD;
  /** Where the search for the end of an incomplete head resumes. */
  scan = 0;
  /** A request was delivered and its response is not complete yet. */
  busy = false;
  /** Reading was paused by the protocol (waiting for a response, or closing). */
  stopped = false;
  /** No further request is read on this connection. */
  closing = false;
  /** The request being answered, and what its response depends on. */
  current: Request | null = null;
  isHead = false;
  keepAlive = true;
  minor = 1;
  stream = STREAM_NONE;
  file: FileStream | null = null;
  /** The head being parsed (reused). */
  readonly info: HeadInfo = new HeadInfo();
  body: BodyReceiver | null = null;
  /** The protocol's `gzip` option (null: off). */
  gzip: GzipSettings | null = null;
}

/** The response to the current request is complete: clean up, then keep the connection or close it. */
export function completeResponse(s: HttpState, conn: Conn, out: string | Uint8Array): string | Uint8Array {
  const req = s.current;
  s.current = null;
  s.busy = false;
  s.stream = STREAM_NONE;
  if (req !== null) {
    const saving = req._finish();
    if (saving !== null) saving.catch((err) => reportError("http session save", err));
  }
  if (!s.keepAlive) {
    // Sent with the close itself: close() after send() would race an asynchronous write.
    if (out.length > 0) conn.close(out, true);
    else conn.close();
    return "";
  }
  if (s.stopped) {
    s.stopped = false;
    // Not from inside send(): the next request's answer must not overtake this one.
    queueMicrotask(() => conn.resumeRecv());
  }
  return out;
}
