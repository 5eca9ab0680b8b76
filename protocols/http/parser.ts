/**
 * The HTTP/1.1 request parser (RFC 9112): pure functions and state machines over bytes, no I/O.
 *
 * A request head is found with {@link findHeadEnd} (resumable, so a head that trickles in is
 * scanned once), then validated and summarised in one pass by {@link parseHead}, which fills a
 * reusable {@link HeadInfo} with offsets (nothing is decoded to a string here). Everything that
 * request smuggling relies on is refused with a stable code (see `errors.ts`):
 *
 * | what                                                   | code                                 |
 * | ------------------------------------------------------ | ------------------------------------ |
 * | LF without CR, CR without LF                           | ERR_HTTP_BARE_LF, ERR_HTTP_BARE_CR   |
 * | method not a token, target with whitespace/CTL         | ERR_HTTP_METHOD, ERR_HTTP_TARGET     |
 * | whitespace before a header's colon, obs-fold           | ERR_HTTP_SPACE_BEFORE_COLON, ..._OBS_FOLD |
 * | Content-Length twice, not digits (so never negative)   | ERR_HTTP_CONTENT_LENGTH(_DUPLICATE)  |
 * | Transfer-Encoding with Content-Length, or in HTTP/1.0  | ERR_HTTP_TE_WITH_CONTENT_LENGTH, ..._TE_HTTP10 |
 * | Transfer-Encoding other than one `chunked`             | ERR_HTTP_TE_NOT_CHUNKED / ..._UNSUPPORTED |
 * | HTTP/1.1 without exactly one Host                      | ERR_HTTP_MISSING_HOST, ..._DUPLICATE_HOST |
 *
 * A chunked body is decoded by {@link ChunkedDecoder}, a byte state machine that can stop and
 * resume anywhere and refuses invalid sizes, extensions and framing.
 *
 * @module
 */

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;

/** tchar (RFC 9110 §5.6.2): the bytes of a method or a header name. */
const TCHAR = new Uint8Array(256);
/** Bytes allowed in a request target: visible ASCII and obs-text, no whitespace, no CTL. */
const TARGET = new Uint8Array(256);
/** Bytes allowed inside a field value: VCHAR, obs-text, SP, HTAB. */
const FIELD = new Uint8Array(256);
/** Hex digit values plus one (0 = not a hex digit). */
const HEX = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  TCHAR[c] = alnum || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)) ? 1 : 0;
  TARGET[c] = c > 32 && c !== 127 ? 1 : 0;
  FIELD[c] = (c >= 32 && c !== 127) || c === HTAB ? 1 : 0;
  HEX[c] = c >= 48 && c <= 57 ? c - 47 : c >= 65 && c <= 70 ? c - 54 : c >= 97 && c <= 102 ? c - 86 : 0;
}

/** What one request head says, as offsets into the bytes it was parsed from. Reused between requests. */
export class HeadInfo {
  /** Where the request line starts (after ignored leading empty lines). */
  start = 0;
  /** Index just past the CRLFCRLF that ends the head. */
  end = 0;
  method = "";
  targetStart = 0;
  targetEnd = 0;
  /** The minor version: HTTP/1.<minor>. */
  minor = 1;
  /** -1 when there is no Content-Length. */
  contentLength = -1;
  chunked = false;
  keepAlive = true;
  expectContinue = false;
  /** The Content-Type starts with `multipart/form-data`. */
  multipart = false;
  /** Number of header fields. */
  count = 0;
}

/**
 * Index just past the CRLFCRLF that ends the head starting at `start`, 0 when it has not
 * arrived yet, -1 on a LF that is not preceded by CR. `from` (≥ start) resumes a search that
 * returned 0 on a shorter buffer holding the same first bytes.
 */
export function findHeadEnd(buf: Uint8Array, start: number, from: number): number {
  let i = from;
  for (;;) {
    const lf = buf.indexOf(LF, i);
    if (lf === -1) return 0;
    if (lf === start || buf[lf - 1] !== CR) return -1;
    if (lf - 3 >= start && buf[lf - 2] === LF && buf[lf - 3] === CR) return lf + 1;
    i = lf + 1;
  }
}

/** True when buf[at..at+name.length) equals the lower-case ASCII `name`, ignoring case. */
export function nameIs(buf: Uint8Array, at: number, name: string): boolean {
  for (let k = 0; k < name.length; k++) {
    if ((buf[at + k] | 0x20) !== name.charCodeAt(k)) return false;
  }
  return true;
}

/** Latin-1 text of buf[start, end) (header bytes are ASCII in practice). */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
  return s;
}

/** True when buf[at..at+text.length) is exactly the ASCII `text`. */
function bytesAre(buf: Uint8Array, at: number, text: string): boolean {
  for (let k = 0; k < text.length; k++) {
    if (buf[at + k] !== text.charCodeAt(k)) return false;
  }
  return true;
}

const METHODS = ["GET", "PUT", "POST", "HEAD", "PATCH", "DELETE", "OPTIONS"];

/** The method as a string, without allocating for the common ones. */
function methodName(buf: Uint8Array, s: number, e: number): string {
  const len = e - s;
  if (len === 3 && buf[s] === 71 && buf[s + 1] === 69 && buf[s + 2] === 84) return "GET";
  for (let k = 1; k < METHODS.length; k++) {
    const m = METHODS[k];
    if (m.length === len && bytesAre(buf, s, m)) return m;
  }
  return latin1(buf, s, e);
}

/** Trailing OWS removed: the end of the value in buf[v0, v1). */
function trimEnd(buf: Uint8Array, v0: number, v1: number): number {
  while (v1 > v0 && (buf[v1 - 1] === SP || buf[v1 - 1] === HTAB)) v1--;
  return v1;
}

/** What {@link parseHead} returns when the head has not all arrived yet. */
export const INCOMPLETE = "incomplete";

/**
 * Validate the head starting at `start` in buf[0, len) and fill `info` (its end in `info.end`),
 * in one pass. Returns "" when the request is acceptable, {@link INCOMPLETE} when the head runs
 * past `len` (unless `complete`: then `len` is known to end the head and running past it is an
 * error), else the refusal code.
 */
export function parseHead(
  buf: Uint8Array,
  start: number,
  len: number,
  info: HeadInfo,
  maxHeaderCount: number,
  complete = false,
): string {
  let i = start;
  // request-line = method SP request-target SP HTTP-version CRLF
  while (TCHAR[buf[i]] === 1) i++;
  if (i >= len) return complete ? "ERR_HTTP_METHOD" : INCOMPLETE;
  if (i === start || buf[i] !== SP) {
    return buf[i] === LF ? "ERR_HTTP_BARE_LF" : buf[i] === CR && i > start ? "ERR_HTTP_TARGET" : "ERR_HTTP_METHOD";
  }
  const m1 = i;
  const t0 = ++i;
  while (TARGET[buf[i]] === 1) i++;
  if (i >= len) return complete ? "ERR_HTTP_TARGET" : INCOMPLETE;
  if (i === t0 || buf[i] !== SP) return buf[i] === LF ? "ERR_HTTP_BARE_LF" : "ERR_HTTP_TARGET";
  const t1 = i++;
  if (len - i < 10) {
    // HTTP/x.y CRLF: not all here; what is here must fit
    for (let k = i; k < len; k++) if (buf[k] === LF) return buf[k - 1] === CR ? "ERR_HTTP_VERSION" : "ERR_HTTP_BARE_LF";
    return complete ? "ERR_HTTP_VERSION" : INCOMPLETE;
  }
  if (
    buf[i] !== 72 || buf[i + 1] !== 84 || buf[i + 2] !== 84 || buf[i + 3] !== 80 || buf[i + 4] !== 47 ||
    HEX[buf[i + 5]] === 0 || buf[i + 5] > 57 || buf[i + 6] !== 46 || HEX[buf[i + 7]] === 0 || buf[i + 7] > 57
  ) {
    return "ERR_HTTP_VERSION";
  }
  if (buf[i + 8] !== CR) return buf[i + 8] === LF ? "ERR_HTTP_BARE_LF" : "ERR_HTTP_VERSION";
  if (buf[i + 9] !== LF) return "ERR_HTTP_BARE_CR";
  if (buf[i + 5] !== 49) return "ERR_HTTP_VERSION_UNSUPPORTED";
  const minor = buf[i + 7] - 48;
  i += 10;

  let contentLength = -1;
  let hosts = 0;
  let te = 0; // 0 none, 1 exactly one "chunked", 2 ends in chunked after other codings, 3 does not end in chunked
  let close = false;
  let keepAlive = false;
  let expect = false;
  let multipart = false;
  let count = 0;
  for (;;) {
    if (i + 1 >= len) return complete ? "ERR_HTTP_BARE_CR" : INCOMPLETE;
    const c = buf[i];
    if (c === CR) {
      if (buf[i + 1] !== LF) return "ERR_HTTP_BARE_CR";
      i += 2;
      break;
    }
    if (c === LF) return "ERR_HTTP_BARE_LF";
    if (c === SP || c === HTAB) return "ERR_HTTP_OBS_FOLD";
    if (++count > maxHeaderCount) return "ERR_HTTP_TOO_MANY_HEADERS";
    const n0 = i;
    while (TCHAR[buf[i]] === 1) i++;
    const n1 = i;
    if (i >= len) return complete ? "ERR_HTTP_HEADER_NAME" : INCOMPLETE;
    if (buf[i] !== COLON) {
      if (buf[i] === LF) return "ERR_HTTP_BARE_LF";
      return n1 > n0 && (buf[i] === SP || buf[i] === HTAB) ? "ERR_HTTP_SPACE_BEFORE_COLON" : "ERR_HTTP_HEADER_NAME";
    }
    if (n1 === n0) return "ERR_HTTP_HEADER_NAME";
    i++;
    while (buf[i] === SP || buf[i] === HTAB) i++;
    const v0 = i;
    while (FIELD[buf[i]] === 1) i++;
    if (i + 1 >= len) return complete ? "ERR_HTTP_BARE_CR" : INCOMPLETE;
    if (buf[i] !== CR) return buf[i] === LF ? "ERR_HTTP_BARE_LF" : "ERR_HTTP_HEADER_VALUE";
    if (buf[i + 1] !== LF) return "ERR_HTTP_BARE_CR";
    const v1 = i;
    i += 2;
    switch (n1 - n0) {
      case 4:
        if (nameIs(buf, n0, "host")) hosts++;
        break;
      case 6:
        if (nameIs(buf, n0, "expect")) {
          const e = trimEnd(buf, v0, v1);
          if (e - v0 === 12 && nameIs(buf, v0, "100-continue")) expect = true;
          else return "ERR_HTTP_EXPECTATION";
        }
        break;
      case 10:
        if (nameIs(buf, n0, "connection")) {
          // comma-separated tokens: only close and keep-alive matter here
          let t = v0;
          const e = trimEnd(buf, v0, v1);
          while (t < e) {
            while (t < e && (buf[t] === SP || buf[t] === HTAB || buf[t] === 44)) t++;
            const s = t;
            while (t < e && buf[t] !== 44) t++;
            const len = trimEnd(buf, s, t) - s;
            if (len === 5 && nameIs(buf, s, "close")) close = true;
            else if (len === 10 && nameIs(buf, s, "keep-alive")) keepAlive = true;
          }
        }
        break;
      case 12:
        if (nameIs(buf, n0, "content-type") && v1 - v0 >= 19 && nameIs(buf, v0, "multipart/form-data")) multipart = true;
        break;
      case 14:
        if (nameIs(buf, n0, "content-length")) {
          if (contentLength !== -1) return "ERR_HTTP_CONTENT_LENGTH_DUPLICATE";
          const e = trimEnd(buf, v0, v1);
          if (e === v0) return "ERR_HTTP_CONTENT_LENGTH";
          if (e - v0 > 15) return "ERR_HTTP_BODY_TOO_LARGE"; // beyond any limit, and beyond exact doubles
          let n = 0;
          for (let k = v0; k < e; k++) {
            const d = buf[k] - 48;
            if (d < 0 || d > 9) return "ERR_HTTP_CONTENT_LENGTH";
            n = n * 10 + d;
          }
          contentLength = n;
        }
        break;
      case 17:
        if (nameIs(buf, n0, "transfer-encoding")) {
          let t = v0;
          const e = trimEnd(buf, v0, v1);
          if (e === v0) return "ERR_HTTP_TE_NOT_CHUNKED";
          while (t < e) {
            while (t < e && (buf[t] === SP || buf[t] === HTAB || buf[t] === 44)) t++;
            if (t >= e) break;
            const s = t;
            while (t < e && buf[t] !== 44) t++;
            const len = trimEnd(buf, s, t) - s;
            const chunked = len === 7 && nameIs(buf, s, "chunked");
            // chunked must come once and last; anything after it makes the length unknowable
            if (te === 1 || te === 2) te = 3;
            else if (chunked) te = te === 0 ? 1 : 2;
            else te = 3;
          }
        }
        break;
    }
  }
  if (te !== 0) {
    if (contentLength !== -1) return "ERR_HTTP_TE_WITH_CONTENT_LENGTH";
    if (minor === 0) return "ERR_HTTP_TE_HTTP10";
    if (te === 3) return "ERR_HTTP_TE_NOT_CHUNKED";
    if (te === 2) return "ERR_HTTP_TE_UNSUPPORTED";
  }
  if (hosts !== 1 && (hosts > 1 || minor >= 1)) return hosts > 1 ? "ERR_HTTP_DUPLICATE_HOST" : "ERR_HTTP_MISSING_HOST";
  info.start = start;
  info.end = i;
  info.method = methodName(buf, start, m1);
  info.targetStart = t0;
  info.targetEnd = t1;
  info.minor = minor;
  info.contentLength = contentLength;
  info.chunked = te === 1;
  info.keepAlive = minor === 0 ? keepAlive && !close : !close;
  info.expectContinue = expect && minor >= 1;
  info.multipart = multipart;
  info.count = count;
  return "";
}

// ---- chunked bodies ----------------------------------------------------------------------

const C_SIZE = 0;
const C_SIZE_MORE = 1;
const C_EXT = 2;
const C_SIZE_LF = 3;
const C_DATA = 4;
const C_DATA_CR = 5;
const C_DATA_LF = 6;
const C_TRAILER = 7;
const C_TRAILER_LINE = 8;
const C_TRAILER_LF = 9;
const C_END_LF = 10;
const C_DONE = 11;

/** Longest chunk extension accepted (the extensions themselves are ignored). */
const MAX_CHUNK_EXTENSION = 1024;

/**
 * Decodes a chunked body (RFC 9112 §7.1) as it arrives: `feed` consumes bytes up to the end of
 * the body and hands each run of data to `onData` (views into the input, not copies).
 * Extensions and trailer fields are read and dropped.
 */
export class ChunkedDecoder {
  /** Set when the body ended (last chunk, trailers and final CRLF consumed). */
  done = false;
  /** The refusal code once the input was found invalid. */
  error = "";
  private state = C_SIZE;
  private size = 0;
  private digits = 0;
  private ext = 0;
  private trailer = 0;
  private readonly maxTrailerSize: number;

  constructor(maxTrailerSize: number) {
    this.maxTrailerSize = maxTrailerSize;
  }

  /**
   * Consume buf[from, to). Returns how many bytes were consumed: fewer than offered only when
   * the body ended (the rest belongs to the next request) or on error (`error` is set, -1 returned).
   */
  feed(buf: Uint8Array, from: number, to: number, onData: (data: Uint8Array) => void): number {
    let i = from;
    while (i < to) {
      const c = buf[i];
      switch (this.state) {
        case C_SIZE:
        case C_SIZE_MORE: {
          const h = HEX[c];
          if (h !== 0) {
            if (++this.digits > 8) return this.fail("ERR_HTTP_CHUNK_SIZE");
            this.size = this.size * 16 + h - 1;
            this.state = C_SIZE_MORE;
          } else if (this.state === C_SIZE) {
            return this.fail("ERR_HTTP_CHUNK_SIZE");
          } else if (c === CR) {
            this.state = C_SIZE_LF;
          } else if (c === 59) { // ';'
            this.state = C_EXT;
            this.ext = 0;
          } else {
            return this.fail(c === LF ? "ERR_HTTP_BARE_LF" : "ERR_HTTP_CHUNK_SIZE");
          }
          i++;
          break;
        }
        case C_EXT:
          if (c === CR) this.state = C_SIZE_LF;
          else if (c === LF) return this.fail("ERR_HTTP_BARE_LF");
          else if (FIELD[c] === 0 || ++this.ext > MAX_CHUNK_EXTENSION) return this.fail("ERR_HTTP_CHUNK_EXTENSION");
          i++;
          break;
        case C_SIZE_LF:
          if (c !== LF) return this.fail("ERR_HTTP_BARE_CR");
          i++;
          this.state = this.size === 0 ? C_TRAILER : C_DATA;
          break;
        case C_DATA: {
          const n = Math.min(this.size, to - i);
          onData(buf.subarray(i, i + n));
          i += n;
          this.size -= n;
          if (this.size === 0) this.state = C_DATA_CR;
          break;
        }
        case C_DATA_CR:
          if (c !== CR) return this.fail("ERR_HTTP_CHUNK_FRAMING");
          this.state = C_DATA_LF;
          i++;
          break;
        case C_DATA_LF:
          if (c !== LF) return this.fail("ERR_HTTP_CHUNK_FRAMING");
          this.state = C_SIZE;
          this.digits = 0;
          i++;
          break;
        case C_TRAILER: // start of a trailer line, or the final CRLF
          if (c === CR) {
            this.state = C_END_LF;
          } else if (c === LF) {
            return this.fail("ERR_HTTP_BARE_LF");
          } else {
            this.state = C_TRAILER_LINE;
            continue;
          }
          i++;
          break;
        case C_TRAILER_LINE:
          if (++this.trailer > this.maxTrailerSize) return this.fail("ERR_HTTP_TRAILERS_TOO_LARGE");
          if (c === CR) this.state = C_TRAILER_LF;
          else if (c === LF) return this.fail("ERR_HTTP_BARE_LF");
          else if (FIELD[c] === 0) return this.fail("ERR_HTTP_HEADER_VALUE");
          i++;
          break;
        case C_TRAILER_LF:
          if (c !== LF) return this.fail("ERR_HTTP_BARE_CR");
          this.state = C_TRAILER;
          i++;
          break;
        case C_END_LF:
          if (c !== LF) return this.fail("ERR_HTTP_BARE_CR");
          this.state = C_DONE;
          this.done = true;
          return i + 1 - from;
        default:
          return i - from;
      }
    }
    return i - from;
  }

  private fail(code: string): number {
    this.error = code;
    return -1;
  }
}
