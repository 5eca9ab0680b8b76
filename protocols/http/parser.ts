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
 * | method not a token, or longer than any registered one  | ERR_HTTP_METHOD, ..._METHOD_TOO_LONG (501) |
 * | target with a byte outside RFC 3986, or too long       | ERR_HTTP_TARGET, ..._URI_TOO_LONG (414) |
 * | `*` without OPTIONS, authority-form, CONNECT           | ERR_HTTP_TARGET_FORM, ..._CONNECT (501) |
 * | whitespace before a header's colon, obs-fold           | ERR_HTTP_SPACE_BEFORE_COLON, ..._OBS_FOLD |
 * | Content-Length twice, not digits, above 2^53-1         | ERR_HTTP_CONTENT_LENGTH(_DUPLICATE)  |
 * | Transfer-Encoding with Content-Length, or in HTTP/1.0  | ERR_HTTP_TE_WITH_CONTENT_LENGTH, ..._TE_HTTP10 |
 * | Transfer-Encoding other than one `chunked`             | ERR_HTTP_TE_NOT_CHUNKED / ..._UNSUPPORTED |
 * | HTTP/1.1 without exactly one Host                      | ERR_HTTP_MISSING_HOST, ..._DUPLICATE_HOST |
 * | Host not `uri-host [":" port]`                         | ERR_HTTP_HOST                        |
 *
 * A chunked body is decoded by `ChunkedDecoder` (`chunked.ts`).
 *
 * @module
 */

export const CR = 13;
export const LF = 10;
export const SP = 32;
export const HTAB = 9;
const COLON = 58;
const SLASH = 47;

/** tchar (RFC 9110 §5.6.2): the bytes of a method or a header name. */
export const TCHAR = new Uint8Array(256);
/**
 * Bytes allowed in a request target: the characters of RFC 3986 (unreserved, reserved and "%")
 * but "#" (a fragment is never sent), plus `\ ^ ` { | }`, which browsers and fetch send
 * unencoded in a query (WHATWG URL). So no whitespace, CTL, DEL, `"`, `<`, `>` nor byte above 0x7F.
 */
const TARGET = new Uint8Array(256);
/** Bytes of a Host's reg-name (unreserved, sub-delims) but ",", which would make it a list. */
const REG_NAME = new Uint8Array(256);
/** Bytes of a scheme after its first letter (RFC 3986 §3.1). */
const SCHEME = new Uint8Array(256);
/** Bytes allowed inside a field value: VCHAR, obs-text, SP, HTAB. */
export const FIELD = new Uint8Array(256);
/** Hex digit values plus one (0 = not a hex digit). */
export const HEX = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  const ch = String.fromCharCode(c);
  TCHAR[c] = alnum || "!#$%&'*+-.^_`|~".includes(ch) ? 1 : 0;
  TARGET[c] = alnum || "-._~:/?@[]!$&'()*+,;=%\\^`{|}".includes(ch) ? 1 : 0;
  REG_NAME[c] = alnum || "-._~!$&'()*+;=".includes(ch) ? 1 : 0;
  SCHEME[c] = alnum || "+-.".includes(ch) ? 1 : 0;
  FIELD[c] = (c >= 32 && c !== 127) || c === HTAB ? 1 : 0;
  HEX[c] = c >= 48 && c <= 57 ? c - 47 : c >= 65 && c <= 70 ? c - 54 : c >= 97 && c <= 102 ? c - 86 : 0;
}

/**
 * The longest method taken, in bytes: UPDATEREDIRECTREF, the longest in the IANA HTTP Method
 * Registry. Any token up to this length reaches the application; a longer one is refused with
 * 501 before the rest of the request line is waited for.
 */
export const MAX_METHOD_LENGTH = 17;

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

/** The limits {@link parseHead} applies (HttpOptions has both). */
export interface HeadLimits {
  /** Most header fields: more → ERR_HTTP_TOO_MANY_HEADERS. */
  maxHeaderCount: number;
  /** Most bytes of the request target: more → ERR_HTTP_URI_TOO_LONG, as soon as they are seen. */
  maxTargetSize: number;
}

const FORM_ORIGIN = 0;
const FORM_ABSOLUTE = 1;
const FORM_ASTERISK = 2;
/** Neither of the above: authority-form (`host:port`, for CONNECT), or nothing valid. */
const FORM_OTHER = 3;

/**
 * The form of the request target buf[t0, t1) (RFC 9112 §3.2). Absolute-form is taken as
 * `scheme://...`, as clients send it to a proxy; `host:port` is left to CONNECT.
 */
function targetForm(buf: Uint8Array, t0: number, t1: number): number {
  const c = buf[t0];
  if (c === SLASH) return FORM_ORIGIN;
  if (c === 42) return t1 - t0 === 1 ? FORM_ASTERISK : FORM_OTHER; // '*'
  if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return FORM_OTHER;
  let i = t0 + 1;
  while (i < t1 && SCHEME[buf[i]] === 1) i++;
  return i + 3 <= t1 && buf[i] === COLON && buf[i + 1] === SLASH && buf[i + 2] === SLASH ? FORM_ABSOLUTE : FORM_OTHER;
}

/**
 * True when buf[s, e) is a Host value: `uri-host [":" port]` (RFC 9110 §7.2), where uri-host is
 * an IP literal (`[::1]`) or a reg-name (which IPv4 addresses are too) that is not empty (an
 * "http" URI with an empty host is invalid, RFC 9110 §4.2.1). Userinfo, a path and a list
 * (two values joined with ",") are not.
 */
function isHost(buf: Uint8Array, s: number, e: number): boolean {
  let i = s;
  if (buf[i] === 91) { // '[': IPv6 (hex digits, ':' and the '.' of an embedded IPv4)
    i++;
    while (i < e && (HEX[buf[i]] !== 0 || buf[i] === COLON || buf[i] === 46)) i++;
    if (i === s + 1 || i >= e || buf[i] !== 93) return false;
    i++;
  } else {
    while (i < e) {
      const c = buf[i];
      if (REG_NAME[c] === 1) i++;
      else if (c === 37 && i + 2 < e && HEX[buf[i + 1]] !== 0 && HEX[buf[i + 2]] !== 0) i += 3; // pct-encoded
      else break;
    }
    if (i === s) return false;
  }
  if (i === e) return true;
  if (buf[i] !== COLON) return false;
  for (i++; i < e; i++) if (buf[i] < 48 || buf[i] > 57) return false;
  return true;
}

/**
 * Validate the head starting at `start` in buf[0, len) and fill `info` (its end in `info.end`),
 * in one pass. Returns "" when the request is acceptable, {@link INCOMPLETE} when the head runs
 * past `len` (unless `complete`: then `len` is known to end the head and running past it is an
 * error), else the refusal code. A method or target already too long is refused before the
 * request line has all arrived.
 */
export function parseHead(
  buf: Uint8Array,
  start: number,
  len: number,
  info: HeadInfo,
  limits: HeadLimits,
  complete = false,
): string {
  let i = start;
  // request-line = method SP request-target SP HTTP-version CRLF
  const methodEnd = start + MAX_METHOD_LENGTH + 1;
  while (i < methodEnd && TCHAR[buf[i]] === 1) i++;
  if (i === methodEnd) return "ERR_HTTP_METHOD_TOO_LONG";
  if (i >= len) return complete ? "ERR_HTTP_METHOD" : INCOMPLETE;
  if (i === start || buf[i] !== SP) {
    return buf[i] === LF ? "ERR_HTTP_BARE_LF" : buf[i] === CR && i > start ? "ERR_HTTP_TARGET" : "ERR_HTTP_METHOD";
  }
  const m1 = i;
  const t0 = ++i;
  while (TARGET[buf[i]] === 1) i++;
  if (i - t0 > limits.maxTargetSize) return "ERR_HTTP_URI_TOO_LONG";
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
  // Not a proxy: CONNECT is not implemented, and the target is a path, or a URL, or * for OPTIONS.
  if (m1 - start === 7 && bytesAre(buf, start, "CONNECT")) return "ERR_HTTP_CONNECT";
  const form = targetForm(buf, t0, t1);
  if (form === FORM_OTHER || (form === FORM_ASTERISK && !(m1 - start === 7 && bytesAre(buf, start, "OPTIONS")))) {
    return "ERR_HTTP_TARGET_FORM";
  }

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
    if (++count > limits.maxHeaderCount) return "ERR_HTTP_TOO_MANY_HEADERS";
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
        if (nameIs(buf, n0, "host")) {
          hosts++;
          // empty: allowed where the target names no authority of its own to fill in (RFC 9112 §3.2)
          const e = trimEnd(buf, v0, v1);
          if (e === v0 ? form === FORM_ORIGIN && minor >= 1 : !isHost(buf, v0, e)) return "ERR_HTTP_HOST";
        }
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
        if (nameIs(buf, n0, "content-type") && v1 - v0 >= 19 && nameIs(buf, v0, "multipart/form-data")) {
          multipart = true;
        }
        break;
      case 14:
        if (nameIs(buf, n0, "content-length")) {
          if (contentLength !== -1) return "ERR_HTTP_CONTENT_LENGTH_DUPLICATE";
          const e = trimEnd(buf, v0, v1);
          if (e === v0) return "ERR_HTTP_CONTENT_LENGTH";
          let n = 0;
          for (let k = v0; k < e; k++) {
            const d = buf[k] - 48;
            if (d < 0 || d > 9) return "ERR_HTTP_CONTENT_LENGTH";
            n = n * 10 + d;
            // exact up to here; beyond, no length can be honoured: malformed rather than too large
            if (n > Number.MAX_SAFE_INTEGER) return "ERR_HTTP_CONTENT_LENGTH";
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
