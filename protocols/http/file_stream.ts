/**
 * Sends parts of a file over a connection with back-pressure: pieces of 64 KiB are read and
 * sent while the connection's send queue is below a high-water mark, then the stream waits for
 * `onBufferDrain`. At most about half of `maxSendBufferSize` (≤ 512 KiB) plus one piece is in
 * memory, whatever the file's size. The body is a list of segments: file ranges, and bytes
 * between them (the part heads of a multipart/byteranges body).
 *
 * @module
 */
import { reportError } from "../../core/log.ts";
import type { ProtocolConnection } from "../../core/protocol.ts";
import { runtime } from "../../runtime/mod.ts";

/** Bytes read and sent at a time. */
export const FILE_PIECE = 65536;
/** ESTABLISHED in TcpConnection's status numbers. */
const ESTABLISHED = 2;

// deno-lint-ignore no-explicit-any
type Callback = ((...args: any[]) => unknown) | null;

/** A piece of a streamed body: bytes sent as they are, or `length` bytes of the file from `position`. */
export type Segment = Uint8Array | { position: number; length: number };

export class FileStream {
  private fd: number;
  private readonly segments: Segment[];
  /** Index of the segment being sent. */
  private next = 0;
  /** Where the current file segment continues, and how much of it is left. */
  private position = 0;
  private remaining = 0;
  private readonly conn: ProtocolConnection;
  private readonly onDone: (last: Uint8Array) => void;
  private readonly high: number;
  private readonly userDrain: Callback;
  private readonly hook: Callback;
  private finished = false;

  /** Stream `segments` (at least one byte) of the open file `fd`; `onDone` gets the last piece to send. */
  constructor(fd: number, segments: Segment[], conn: ProtocolConnection, onDone: (last: Uint8Array) => void) {
    this.fd = fd;
    this.segments = segments;
    this.conn = conn;
    this.onDone = onDone;
    this.high = Math.max(FILE_PIECE, Math.min(conn.maxSendBufferSize / 2, 524288));
    this.userDrain = conn.onBufferDrain ?? null;
    const user = this.userDrain;
    this.hook = (c: unknown) => {
      this.pump();
      if (user) user(c);
    };
    conn.onBufferDrain = this.hook;
  }

  /**
   * Read and send until the queue is full (then wait for drain) or every segment is out. The
   * last piece is not sent here but handed to `onDone`, which completes the response with it.
   */
  pump(): void {
    if (this.finished) return;
    const conn = this.conn;
    for (;;) {
      if (conn.getStatus() !== ESTABLISHED) {
        this.abort();
        return;
      }
      if (conn.getSendBufferQueueSize() >= this.high) return; // onBufferDrain calls pump again
      const piece = this.nextPiece();
      if (piece === null) return;
      if (this.remaining === 0 && this.next === this.segments.length) {
        this.release();
        this.onDone(piece);
        return;
      }
      conn.send(piece, true);
    }
  }

  /** The next bytes to send: a segment's bytes or a piece read from the file (null: the read failed). */
  private nextPiece(): Uint8Array | null {
    while (this.remaining === 0) {
      const segment = this.segments[this.next++];
      if (segment instanceof Uint8Array) return segment;
      this.position = segment.position;
      this.remaining = segment.length;
    }
    const n = Math.min(FILE_PIECE, this.remaining);
    const buf = new Uint8Array(n);
    let got = 0;
    try {
      got = runtime.files.read(this.fd, buf, this.position);
    } catch (err) {
      reportError("http file stream", err);
    }
    if (got <= 0) {
      // The file shrank or failed under us: the promised length cannot be sent.
      this.abort();
      this.conn.destroy();
      return null;
    }
    this.position += got;
    this.remaining -= got;
    return got === n ? buf : buf.subarray(0, got);
  }

  /** Stop (the connection closed): close the file. */
  abort(): void {
    this.release();
  }

  private release(): void {
    if (this.finished) return;
    this.finished = true;
    runtime.files.close(this.fd);
    if (this.conn.onBufferDrain === this.hook) this.conn.onBufferDrain = this.userDrain;
  }
}
