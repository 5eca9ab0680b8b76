/**
 * PHP's `serialize()` / `unserialize()` text format, as GatewayWorker peers write it for package
 * bodies, sessions and query answers.
 *
 * Values map as PHP sees them: `null`/`undefined` ↔ `N;`, booleans ↔ `b:`, safe integers ↔ `i:`
 * (an `i:` beyond 2^53 decodes to a `bigint`), other numbers ↔ `d:` (`INF`, `-INF`, `NAN` and
 * exponents included), strings ↔ `s:<UTF-8 byte length>:"…";` (a `Uint8Array` goes as its UTF-8 text),
 * arrays, `Map`s and plain objects ↔ `a:` (a PHP array whose keys are 0..n-1 in order decodes to
 * a JS array, any other to a plain object). An `O:` (a PHP object) decodes to a plain object of
 * its properties. Malformed input throws a `SyntaxError` naming the offset.
 *
 * @module
 */
import { utf8Decode, utf8Encode } from "../core/bytes.ts";

/** PHP's `serialize()` of a value. */
export function serializePhp(value: unknown): string {
  if (value === null || value === undefined) return "N;";
  switch (typeof value) {
    case "boolean":
      return value ? "b:1;" : "b:0;";
    case "bigint":
      return `i:${value};`;
    case "number":
      return serializeNumber(value);
    case "string":
      return `s:${utf8Encode(value).length}:"${value}";`;
    case "object":
      return serializeObject(value);
    default:
      throw new TypeError(`cannot serialize a ${typeof value} for PHP`);
  }
}

function serializeNumber(n: number): string {
  if (Number.isSafeInteger(n) && !Object.is(n, -0)) return `i:${n};`;
  if (Number.isNaN(n)) return "d:NAN;";
  if (!Number.isFinite(n)) return n > 0 ? "d:INF;" : "d:-INF;";
  return `d:${Object.is(n, -0) ? "-0" : String(n)};`;
}

function serializeObject(value: object): string {
  if (value instanceof Uint8Array) return serializePhp(utf8Decode(value));
  const entries: [unknown, unknown][] = value instanceof Map
    ? [...value]
    : Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value);
  let out = `a:${entries.length}:{`;
  for (const [key, v] of entries) out += serializeKey(key) + serializePhp(v);
  return out + "}";
}

/** Array keys: integers stay integers, anything else is a string key (PHP turns "5" into 5 itself). */
function serializeKey(key: unknown): string {
  if (typeof key === "number" && Number.isSafeInteger(key)) return `i:${key};`;
  if (typeof key === "bigint") return `i:${key};`;
  return serializePhp(String(key));
}

const QUOTE = 0x22;
const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** PHP's `unserialize()` of `text` (a string, or its UTF-8 bytes). Throws a SyntaxError on malformed input. */
export function unserializePhp(text: string | Uint8Array): unknown {
  const reader = new Reader(typeof text === "string" ? utf8Encode(text) : text);
  const value = reader.value(0);
  if (reader.at !== reader.bytes.length) reader.fail("trailing bytes");
  return value;
}

/** Deepest nesting accepted: deeper input is refused instead of overflowing the stack. */
const MAX_DEPTH = 512;

class Reader {
  readonly bytes: Uint8Array;
  at = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  fail(what: string): never {
    throw new SyntaxError(`unserialize: ${what} at offset ${this.at}`);
  }

  /** Consume `expected` (ASCII) or fail. */
  expect(expected: string): void {
    for (let i = 0; i < expected.length; i++) {
      if (this.bytes[this.at] !== expected.charCodeAt(i)) this.fail(`expected '${expected}'`);
      this.at++;
    }
  }

  /** ASCII up to (not including) `end`, which is consumed. */
  until(end: string): string {
    const stop = this.bytes.indexOf(end.charCodeAt(0), this.at);
    if (stop === -1 || stop - this.at > 400) this.fail(`expected '${end}'`);
    const s = String.fromCharCode(...this.bytes.subarray(this.at, stop));
    this.at = stop + 1;
    return s;
  }

  /** A non-negative length followed by `:`. */
  length(): number {
    const s = this.until(":");
    if (!/^\d{1,10}$/.test(s)) this.fail(`bad length '${s}'`);
    return Number(s);
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail("nesting too deep");
    const type = String.fromCharCode(this.bytes[this.at] ?? 0);
    this.at++;
    if (type === "N") return this.expect(";"), null;
    this.expect(":");
    switch (type) {
      case "b": {
        const s = this.until(";");
        if (s !== "0" && s !== "1") this.fail(`bad boolean '${s}'`);
        return s === "1";
      }
      case "i":
        return this.integer(this.until(";"));
      case "d":
        return this.float(this.until(";"));
      case "s":
        return utf8Decode(this.string());
      case "a":
        return this.array(depth);
      case "O": {
        this.string(":");
        return this.properties(depth);
      }
      default:
        return this.fail(`unknown type '${type}'`);
    }
  }

  integer(s: string): number | bigint {
    if (!INT.test(s)) this.fail(`bad integer '${s}'`);
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : BigInt(s);
  }

  float(s: string): number {
    if (s === "INF") return Infinity;
    if (s === "-INF") return -Infinity;
    if (s === "NAN") return NaN;
    if (!FLOAT.test(s)) this.fail(`bad float '${s}'`);
    return Number(s);
  }

  /** `<len>:"<len bytes>"` then `end`. */
  string(end = ";"): Uint8Array {
    const n = this.length();
    if (
      this.bytes[this.at] !== QUOTE || this.at + 1 + n >= this.bytes.length || this.bytes[this.at + 1 + n] !== QUOTE
    ) {
      this.fail("bad string");
    }
    const s = this.bytes.subarray(this.at + 1, this.at + 1 + n);
    this.at += n + 2;
    this.expect(end);
    return s;
  }

  /** `<n>:{key value ...}` as a JS array (keys 0..n-1 in order) or a plain object. */
  array(depth: number): unknown[] | Record<string, unknown> {
    const entries = this.entries(depth);
    if (entries.every(([key], i) => key === i)) return entries.map(([, v]) => v);
    return toObject(entries);
  }

  /** An object's `<n>:{name value ...}`, private/protected name prefixes dropped. */
  properties(depth: number): Record<string, unknown> {
    return toObject(this.entries(depth).map(([k, v]) => [String(k).replace(/^\0[^\0]*\0/, ""), v]));
  }

  entries(depth: number): [string | number, unknown][] {
    const n = this.length();
    this.expect("{");
    const out: [string | number, unknown][] = [];
    for (let i = 0; i < n; i++) {
      const key = this.value(depth + 1);
      if (typeof key !== "string" && typeof key !== "number") this.fail("bad array key");
      out.push([key, this.value(depth + 1)]);
    }
    this.expect("}");
    return out;
  }
}

/** A plain object of `entries`; every key, `__proto__` included, becomes an own property. */
function toObject(entries: [string | number, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
