/**
 * The chunked transfer coding of a request body (RFC 9112 §7.1), decoded by
 * {@link ChunkedDecoder}: a byte state machine that can stop and resume anywhere and refuses
 * invalid sizes, extensions (anything but `;name`, `;name=token`, `;name="quoted"`, with
 * optional whitespace around `;` and `=`) and framing, with the codes of `errors.ts`.
 *
 * @module
 */
import { CR, FIELD, HEX, HTAB, LF, SP, TCHAR } from "./parser.ts";

const SEMI = 59;
const EQUALS = 61;
const DQUOTE = 34;
const BACKSLASH = 92;

const C_SIZE = 0;
const C_SIZE_MORE = 1;
const C_SIZE_LF = 2;
const C_DATA = 3;
const C_DATA_CR = 4;
const C_DATA_LF = 5;
const C_TRAILER = 6;
const C_TRAILER_LINE = 7;
const C_TRAILER_LF = 8;
const C_END_LF = 9;
const C_DONE = 10;
// chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ext-val = token / quoted-string
// (RFC 9112 §7.1.1): one state per place in it, all from C_SIZE_BWS on (see extNext).
const C_SIZE_BWS = 11; // whitespace after the size: only before a ";"
const C_EXT_SEMI = 12; // whitespace after a value: only before a ";"
const C_EXT_NAME_START = 13; // after ";": BWS, then the name
const C_EXT_NAME = 14;
const C_EXT_NAME_BWS = 15; // whitespace after the name: "=" or ";" must follow
const C_EXT_VALUE_START = 16; // after "=": BWS, then a token or a quoted string
const C_EXT_TOKEN = 17;
const C_EXT_QUOTED = 18;
const C_EXT_QUOTED_PAIR = 19; // after a backslash in the quoted string
const C_EXT_AFTER = 20; // after the closing quote

/** Longest chunk extension accepted (the extensions themselves are ignored). */
const MAX_CHUNK_EXTENSION = 1024;

/** The state after byte `c` in chunk-extension state `state` (C_SIZE_LF at its CR), -1 when `c` cannot come there. */
function extNext(state: number, c: number): number {
  const ws = c === SP || c === HTAB;
  switch (state) {
    case C_SIZE_BWS:
    case C_EXT_SEMI:
      return ws ? state : c === SEMI ? C_EXT_NAME_START : -1;
    case C_EXT_NAME_START:
      return ws ? state : TCHAR[c] === 1 ? C_EXT_NAME : -1;
    case C_EXT_NAME:
      if (TCHAR[c] === 1) return state;
      return c === CR
        ? C_SIZE_LF
        : c === EQUALS
        ? C_EXT_VALUE_START
        : c === SEMI
        ? C_EXT_NAME_START
        : ws
        ? C_EXT_NAME_BWS
        : -1;
    case C_EXT_NAME_BWS:
      return ws ? state : c === EQUALS ? C_EXT_VALUE_START : c === SEMI ? C_EXT_NAME_START : -1;
    case C_EXT_VALUE_START:
      return ws ? state : TCHAR[c] === 1 ? C_EXT_TOKEN : c === DQUOTE ? C_EXT_QUOTED : -1;
    case C_EXT_TOKEN:
      if (TCHAR[c] === 1) return state;
      return c === CR ? C_SIZE_LF : c === SEMI ? C_EXT_NAME_START : ws ? C_EXT_SEMI : -1;
    case C_EXT_QUOTED: // qdtext: HTAB, SP, VCHAR but '"' and '\', obs-text
      return c === DQUOTE ? C_EXT_AFTER : c === BACKSLASH ? C_EXT_QUOTED_PAIR : FIELD[c] === 1 ? state : -1;
    case C_EXT_QUOTED_PAIR:
      return FIELD[c] === 1 ? C_EXT_QUOTED : -1;
    case C_EXT_AFTER:
      return c === CR ? C_SIZE_LF : c === SEMI ? C_EXT_NAME_START : ws ? C_EXT_SEMI : -1;
  }
  return -1;
}

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
          } else if (c === SEMI || c === SP || c === HTAB) {
            this.state = c === SEMI ? C_EXT_NAME_START : C_SIZE_BWS;
            this.ext = 0;
          } else {
            return this.fail(c === LF ? "ERR_HTTP_BARE_LF" : "ERR_HTTP_CHUNK_SIZE");
          }
          i++;
          break;
        }
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
        case C_DONE:
          return i - from;
        default: { // a chunk extension
          const next = extNext(this.state, c);
          if (next === -1 || ++this.ext > MAX_CHUNK_EXTENSION) {
            // "5 \r\n": the whitespace was no extension's, the size line is what is wrong
            const code = this.state === C_SIZE_BWS && next === -1 ? "ERR_HTTP_CHUNK_SIZE" : "ERR_HTTP_CHUNK_EXTENSION";
            return this.fail(c === LF ? "ERR_HTTP_BARE_LF" : code);
          }
          this.state = next;
          i++;
          break;
        }
      }
    }
    return i - from;
  }

  private fail(code: string): number {
    this.error = code;
    return -1;
  }
}
