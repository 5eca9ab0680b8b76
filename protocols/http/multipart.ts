/**
 * A streaming `multipart/form-data` parser (RFC 7578 / RFC 2046): bytes go in as they arrive,
 * parts come out as `begin` / `data` / `end` calls on a {@link MultipartSink}, so a file part
 * never has to be held whole in memory. Pure: no I/O.
 *
 * States: PREAMBLE (skip to the first delimiter) → AFTER_DELIMITER (`--` ends the body, CRLF
 * starts a part) → HEADERS (up to CRLFCRLF, at most `maxHeaderSize` bytes) → BODY (up to the
 * next CRLF `--boundary`) → AFTER_DELIMITER … → EPILOGUE (ignored). A delimiter split across
 * writes is kept back (at most its own length) until it can be told from data.
 *
 * @module
 */
import { concat, copyFrom, utf8Decode } from "../../core/bytes.ts";
import { httpError } from "./errors.ts";

/** What a part's headers say. `filename` is null for an ordinary field. */
export interface PartInfo {
  name: string;
  filename: string | null;
  /** The part's Content-Type ("" when absent). */
  type: string;
}

/** Receives the parts. A method may throw (an {@link HttpError} for a limit): the error reaches the writer. */
export interface MultipartSink {
  begin(part: PartInfo): void;
  data(bytes: Uint8Array): void;
  end(): void;
}

const M_PREAMBLE = 0;
const M_AFTER = 1;
const M_HEADERS = 2;
const M_BODY = 3;
const M_EPILOGUE = 4;

const CRLF = new Uint8Array([13, 10]);

/** The boundary parameter of a multipart Content-Type, or null. */
export function boundaryOf(contentType: string): string | null {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : null;
}

/** Split `a; b="c;d"; e=f` at the semicolons outside quotes, unquoting values. */
function parameters(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = value.indexOf(";");
  while (i !== -1 && i < value.length) {
    i++;
    while (value[i] === " " || value[i] === "\t") i++;
    const eq = value.indexOf("=", i);
    if (eq === -1) break;
    const key = value.slice(i, eq).trim().toLowerCase();
    let v = "";
    let j = eq + 1;
    while (value[j] === " " || value[j] === "\t") j++;
    if (value[j] === '"') {
      j++;
      while (j < value.length && value[j] !== '"') {
        if (value[j] === "\\" && j + 1 < value.length) j++;
        v += value[j++];
      }
      j = value.indexOf(";", j);
    } else {
      const end = value.indexOf(";", j);
      v = value.slice(j, end === -1 ? value.length : end).trim();
      j = end;
    }
    if (!Object.hasOwn(out, key)) out[key] = v;
    i = j;
  }
  return out;
}

/** The PartInfo of a part's raw header block. */
export function partInfo(headers: string): PartInfo {
  const info: PartInfo = { name: "", filename: null, type: "" };
  for (const line of headers.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "content-disposition") {
      const p = parameters(value);
      info.name = p.name ?? "";
      let filename: string | null = p.filename ?? null;
      const star = p["filename*"];
      if (star !== undefined) {
        const m = /^utf-8'[^']*'(.*)$/i.exec(star);
        if (m) {
          try {
            filename = decodeURIComponent(m[1]);
          } catch { /* keep the plain filename */ }
        }
      }
      // Only the base name counts: a path sent by an old client never reaches the app.
      if (filename !== null) {
        filename = filename.slice(Math.max(filename.lastIndexOf("/"), filename.lastIndexOf("\\")) + 1);
      }
      info.filename = filename;
    } else if (name === "content-type") {
      info.type = value;
    }
  }
  return info;
}

/** Parses one multipart body written to it in pieces of any size. */
export class MultipartParser {
  /** True once the closing delimiter was seen. */
  done = false;
  private state = M_PREAMBLE;
  /** Bytes kept back from the previous write (a possible delimiter start, or unfinished headers). */
  private carry: Uint8Array | null = CRLF; // the first delimiter may open the body: pretend a CRLF before it
  private readonly delimiter: Uint8Array;
  private readonly sink: MultipartSink;
  private readonly maxHeaderSize: number;

  constructor(boundary: string, sink: MultipartSink, maxHeaderSize = 16384) {
    this.delimiter = new TextEncoder().encode(`\r\n--${boundary}`);
    this.sink = sink;
    this.maxHeaderSize = maxHeaderSize;
  }

  /** Feed the next bytes of the body. Throws an {@link HttpError} (ERR_HTTP_MULTIPART, or the sink's) on bad input. */
  write(chunk: Uint8Array): void {
    if (this.state === M_EPILOGUE || chunk.length === 0) return;
    const buf = this.carry ? concat(this.carry, chunk) : chunk;
    this.carry = null;
    const len = buf.length;
    let pos = 0;
    while (pos < len) {
      switch (this.state) {
        case M_PREAMBLE:
        case M_BODY: {
          const d = this.delimiter;
          let i = pos;
          for (;;) {
            const cr = buf.indexOf(13, i);
            if (cr === -1) {
              if (this.state === M_BODY && pos < len) this.sink.data(buf.subarray(pos, len));
              return;
            }
            const n = Math.min(len - cr, d.length);
            let k = 1;
            while (k < n && buf[cr + k] === d[k]) k++;
            if (k < n) {
              i = cr + 1;
              continue;
            }
            if (this.state === M_BODY && cr > pos) this.sink.data(buf.subarray(pos, cr));
            if (n < d.length) { // maybe a delimiter, cut by the end of this write
              this.carry = copyFrom(buf, cr);
              return;
            }
            if (this.state === M_BODY) this.sink.end();
            pos = cr + d.length;
            this.state = M_AFTER;
            break;
          }
          break;
        }
        case M_AFTER: {
          let p = pos;
          while (p < len && (buf[p] === 32 || buf[p] === 9) && p - pos < 256) p++; // transport padding
          if (len - p < 2) {
            this.carry = copyFrom(buf, pos);
            return;
          }
          if (buf[p] === 45 && buf[p + 1] === 45) {
            this.state = M_EPILOGUE;
            this.done = true;
            return;
          }
          if (buf[p] !== 13 || buf[p + 1] !== 10) {
            throw httpError("ERR_HTTP_MULTIPART", "a delimiter not followed by CRLF or --");
          }
          pos = p + 2;
          this.state = M_HEADERS;
          break;
        }
        case M_HEADERS: {
          let end: number;
          if (buf[pos] === 13 && buf[pos + 1] === 10) end = pos; // no headers at all
          else {
            end = -1;
            let i = pos;
            for (;;) {
              const lf = buf.indexOf(10, i);
              if (lf === -1) break;
              if (buf[lf - 1] === 13 && buf[lf + 1] === 13 && buf[lf + 2] === 10) {
                end = lf + 1;
                break;
              }
              i = lf + 1;
            }
          }
          if (end === -1 || (end === pos && len - pos < 2)) {
            if (len - pos > this.maxHeaderSize) throw httpError("ERR_HTTP_MULTIPART", "part headers too large");
            this.carry = copyFrom(buf, pos);
            return;
          }
          if (end - pos > this.maxHeaderSize) throw httpError("ERR_HTTP_MULTIPART", "part headers too large");
          this.sink.begin(partInfo(utf8Decode(buf.subarray(pos, end))));
          pos = end + 2;
          this.state = M_BODY;
          break;
        }
        default:
          return;
      }
    }
  }
}
