/**
 * Validators and ranges of a file response (RFC 9110 §8.8, §13, §14): the file's ETag,
 * `If-Match` / `If-Unmodified-Since` (→ 412), `If-None-Match` / `If-Modified-Since` (→ 304),
 * `If-Range`, and `Range` (one or several
 * `bytes=` ranges → 206, none satisfiable → 416). Pure functions; `encode.ts` builds the
 * response from their answers.
 *
 * @module
 */

/** A satisfiable byte range of a file: first and last byte, both included. */
export type ByteRange = [first: number, last: number];

/** More ranges than this in one request are not honoured: the whole file is sent (RFC 9110 §14.2 allows it). */
export const MAX_RANGES = 32;

const RANGE_SPEC = /^(\d*)[ \t]*-[ \t]*(\d*)$/;

/**
 * The ranges a `Range` header asks of a file of `size` bytes, in the order asked; overlapping
 * or adjacent ranges are merged (and then sorted), so no byte is sent twice.
 * `"unsatisfiable"` when it is valid but none of its ranges overlaps the file (→ 416), null
 * when it is to be ignored (not `bytes=`, a malformed or backwards range, too many ranges).
 */
export function parseRanges(header: string, size: number): ByteRange[] | "unsatisfiable" | null {
  const eq = header.indexOf("=");
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== "bytes") return null;
  const specs = header.slice(eq + 1).split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (specs.length === 0 || specs.length > MAX_RANGES) return null;
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const m = RANGE_SPEC.exec(spec);
    if (m === null || (m[1] === "" && m[2] === "")) return null;
    if (m[1] === "") {
      const n = Number(m[2]);
      if (n > 0 && size > 0) ranges.push([Math.max(0, size - n), size - 1]);
      continue;
    }
    const first = Number(m[1]);
    if (m[2] !== "" && Number(m[2]) < first) return null;
    if (first >= size) continue; // unsatisfiable on its own; the others may still be served
    ranges.push([first, m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1)]);
  }
  if (ranges.length === 0) return "unsatisfiable";
  return overlapping(ranges) ? merge(ranges) : ranges;
}

function overlapping(ranges: ByteRange[]): boolean {
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      if (ranges[i][0] <= ranges[j][1] + 1 && ranges[j][0] <= ranges[i][1] + 1) return true;
    }
  }
  return false;
}

function merge(ranges: ByteRange[]): ByteRange[] {
  const sorted = ranges.map((r): ByteRange => [r[0], r[1]]).sort((a, b) => a[0] - b[0]);
  const out: ByteRange[] = [sorted[0]];
  for (let i = 1; i < sorted.length; i++) {
    const last = out[out.length - 1];
    if (sorted[i][0] <= last[1] + 1) last[1] = Math.max(last[1], sorted[i][1]);
    else out.push(sorted[i]);
  }
  return out;
}

/** The strong ETag of a file version: its modification time (ms) and size, in hex. */
export function fileETag(size: number, mtimeMs: number): string {
  return `"${Math.floor(mtimeMs).toString(16)}-${size.toString(16)}"`;
}

/**
 * Whether `If-None-Match` names `etag` (weak comparison: `W/` is ignored), or is `*`.
 * The header is a comma-separated list of quoted tags.
 */
export function noneMatch(header: string, etag: string): boolean {
  return listsTag(header, etag, false);
}

/**
 * Whether `If-Match` holds for the file with the strong `etag`: `*`, or a listed tag equal to it
 * (strong comparison: a weak `W/` tag never matches).
 */
export function ifMatchHolds(header: string, etag: string): boolean {
  return listsTag(header, etag, true);
}

/**
 * Whether a comma-separated list of quoted entity tags is `*` or holds `etag`; with `strong`,
 * a weak (`W/`) tag never matches on either side, otherwise the `W/` is ignored on both.
 */
function listsTag(header: string, etag: string, strong: boolean): boolean {
  if (header.trim() === "*") return true;
  const opaque = !strong && etag.startsWith("W/") ? etag.slice(2) : etag;
  for (const m of header.matchAll(/(W\/)?("[^"]*")/g)) {
    if (m[2] === opaque && !(strong && m[1] !== undefined)) return true;
  }
  return false;
}

/** Whether `If-Unmodified-Since` holds: the file, to the second, is not newer (an invalid date is ignored). */
export function unmodifiedSince(header: string, mtimeMs: number): boolean {
  return notNewerThan(header, mtimeMs) ?? true;
}

/** Whether `If-Modified-Since` says the client's copy is current (the file, to the second, is not newer). */
export function notModifiedSince(header: string, mtimeMs: number): boolean {
  return notNewerThan(header, mtimeMs) ?? false;
}

/** Whether the file, to the second (as `Last-Modified` gives it), is not newer than the HTTP date `header`; null when that is no date. */
function notNewerThan(header: string, mtimeMs: number): boolean | null {
  const t = Date.parse(header);
  return Number.isNaN(t) ? null : toSecond(mtimeMs) <= t;
}

/** `mtimeMs` cut to the whole second, as an HTTP date carries it. */
function toSecond(mtimeMs: number): number {
  return Math.floor(mtimeMs / 1000) * 1000;
}

/**
 * Whether the `Range` may be honoured under `If-Range` (RFC 9110 §13.1.5): an entity tag must
 * equal the strong `etag` (a weak tag never matches); a date must equal the file's
 * `Last-Modified` to the second. Otherwise the whole file is sent.
 */
export function ifRangeHolds(header: string, etag: string, mtimeMs: number): boolean {
  const value = header.trim();
  if (value.startsWith("W/")) return false;
  if (value.startsWith('"')) return value === etag;
  const t = Date.parse(value);
  return !Number.isNaN(t) && toSecond(mtimeMs) === t;
}
