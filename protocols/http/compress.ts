/**
 * gzip of responses (opt-in): which responses are compressed and how. A Response is gzipped
 * when the request's `Accept-Encoding` accepts gzip and either the response asked for it
 * ({@link Response.withCompression}) or the protocol's `gzip` option is on and the body is of
 * a compressible type and at least `minSize` bytes. Statuses without a body, 206, bodies the
 * application already encoded (`Content-Encoding`), and streamed bodies (files, chunks, event
 * streams) are sent as they are.
 *
 * @module
 */
import { utf8Encode } from "../../core/bytes.ts";
import { runtime } from "../../runtime/mod.ts";

/** The `gzip` option of the `http://` protocol. */
export interface GzipOptions {
  /** Smallest body (bytes) worth compressing: 1024. */
  minSize?: number;
  /** zlib level, 1 (fastest) to 9 (smallest): 6. */
  level?: number;
}

/** What a compressed response needs to know, defaults filled in. */
export type GzipSettings = Required<GzipOptions>;

/** Settings from the protocol option (`true` = the defaults), or null when it is off. */
export function gzipSettings(option: boolean | GzipOptions | undefined): GzipSettings | null {
  if (option === undefined || option === false) return null;
  const o = option === true ? {} : option;
  return { minSize: o.minSize ?? 1024, level: o.level ?? 6 };
}

/** Settings for a response that asked for gzip itself while the protocol option is off (its size is not checked). */
export const FORCED: GzipSettings = gzipSettings(true)!;

/**
 * Whether an `Accept-Encoding` value accepts gzip: listed (or `*` when gzip is not named)
 * with a q-value above 0.
 */
export function acceptsGzip(header: string | null): boolean {
  if (header === null) return false;
  let star = false;
  for (const item of header.split(",")) {
    const [coding, ...params] = item.split(";");
    const name = coding.trim().toLowerCase();
    if (name !== "gzip" && name !== "x-gzip" && name !== "*") continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (name === "*") star = q > 0;
    else return q > 0;
  }
  return star;
}

/** Types worth compressing: text, JSON, JavaScript, XML, SVG and the like. */
export function compressible(contentType: string): boolean {
  return /^\s*(?:text\/|application\/(?:[\w.+-]*\+)?(?:json|javascript|xml|x-www-form-urlencoded|wasm)\b|image\/svg\+xml)/i
    .test(contentType);
}

/** The body gzipped. */
export function gzipBody(body: string | Uint8Array, settings: GzipSettings): Uint8Array {
  return runtime.gzip(typeof body === "string" ? utf8Encode(body) : body, settings.level);
}
