/**
 * Form and query-string decoding the way PHP's `parse_str` does it, which Workerman's
 * `get()`/`post()` return: `+` is a space, `%XX` a byte (the bytes read as UTF-8, malformed
 * escapes kept as they are), and brackets build nested values: `b[]=2` gives `{ b: ["2"] }`,
 * `a[x][y]=1` gives `{ a: { x: { y: "1" } } }`. Unlike PHP, dots and spaces in names are kept.
 *
 * Limits as in PHP: at most `maxVars` pairs (`max_input_vars`, 1000) and `maxDepth` bracket
 * levels (`max_input_nesting_level`, 64); pairs beyond them are ignored. A `__proto__` name is
 * stored as a plain own property, never touching a prototype.
 *
 * @module
 */
import { utf8Decode } from "../../core/bytes.ts";

/** A decoded form: strings, lists and nested forms. */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };
/** A query string or form body decoded with PHP's `parse_str` rules. */
export type Form = Record<string, FormValue>;

/** Decode one form component (`+` → space, `%XX` → byte, UTF-8), keeping malformed escapes. */
export function formDecode(s: string): string {
  if (s.indexOf("%") === -1) return s.indexOf("+") === -1 ? s : s.replaceAll("+", " ");
  const spaced = s.indexOf("+") === -1 ? s : s.replaceAll("+", " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    // malformed: decode what can be decoded, byte by byte
    const bytes: number[] = [];
    for (let i = 0; i < spaced.length; i++) {
      const c = spaced.charCodeAt(i);
      if (c === 37 && i + 2 < spaced.length && /^[0-9a-fA-F]{2}$/.test(spaced.slice(i + 1, i + 3))) {
        bytes.push(parseInt(spaced.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        for (const b of new TextEncoder().encode(spaced[i])) bytes.push(b);
      }
    }
    return utf8Decode(new Uint8Array(bytes));
  }
}

function own(container: Record<string, FormValue>, key: string): FormValue | undefined {
  return Object.hasOwn(container, key) ? container[key] : undefined;
}

function put(container: Record<string, FormValue> | FormValue[], key: string, value: FormValue): void {
  if (key === "__proto__") {
    Object.defineProperty(container, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    (container as Record<string, FormValue>)[key] = value;
  }
}

/** The next integer key of a PHP-style array held as an object. */
function nextIndex(obj: Record<string, FormValue>): string {
  let n = 0;
  for (const k of Object.keys(obj)) if (/^\d+$/.test(k)) n = Math.max(n, Number(k) + 1);
  return String(n);
}

/** A list that is about to get a non-index key becomes an object with its indexes as keys. */
function asObject(list: FormValue[]): Record<string, FormValue> {
  const obj: Record<string, FormValue> = {};
  list.forEach((v, i) => (obj[String(i)] = v));
  return obj;
}

/**
 * Store `value` under `name` in `form`, following PHP's bracket syntax. Returns false when the
 * name nests deeper than `maxDepth` (the pair is then ignored, as PHP does).
 */
export function setField(form: Form, name: string, value: FormValue, maxDepth = 64): boolean {
  const open = name.indexOf("[");
  const close = open > 0 ? name.indexOf("]", open) : -1;
  if (open <= 0 || close === -1) {
    put(form, name, value);
    return true;
  }
  const keys = [name.slice(0, open)];
  let i = open;
  while (i < name.length && name[i] === "[") {
    const end = name.indexOf("]", i);
    if (end === -1) break;
    keys.push(name.slice(i + 1, end));
    i = end + 1;
  }
  if (keys.length - 1 > maxDepth) return false;
  // deno-lint-ignore no-explicit-any
  let container: any = form;
  for (let k = 0; k < keys.length; k++) {
    let key = keys[k];
    const last = k === keys.length - 1;
    if (Array.isArray(container)) {
      if (key === "") key = String(container.length);
      else if (!/^\d+$/.test(key)) {
        // a list that gets a named key: rebuild it as an object in its parent
        const obj = asObject(container);
        put(parentOf.container, parentOf.key, obj);
        container = obj;
      }
    } else if (key === "") {
      key = nextIndex(container);
    }
    if (last) {
      if (Array.isArray(container) && /^\d+$/.test(key)) container[Number(key)] = value;
      else put(container, key, value);
      return true;
    }
    let next = Array.isArray(container) ? container[Number(key)] : own(container, key);
    if (next === undefined || typeof next === "string") {
      next = keys[k + 1] === "" ? [] : {};
      if (Array.isArray(container) && /^\d+$/.test(key)) container[Number(key)] = next;
      else put(container, key, next);
    }
    parentOf.container = container;
    parentOf.key = key;
    container = next;
  }
  return true;
}

// The parent of the container being walked (to replace a list by an object in place).
// deno-lint-ignore no-explicit-any
const parentOf: { container: any; key: string } = { container: null, key: "" };

/** Parse `a=1&b[]=2` into a {@link Form} (see the module doc for the rules and limits). */
export function parseForm(text: string, maxVars = 1000, maxDepth = 64): Form {
  const form: Form = {};
  if (text === "") return form;
  let count = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("&", start);
    if (end === -1) end = text.length;
    if (end > start) {
      if (++count > maxVars) break;
      const pair = text.slice(start, end);
      const eq = pair.indexOf("=");
      const name = formDecode(eq === -1 ? pair : pair.slice(0, eq));
      if (name !== "") setField(form, name, eq === -1 ? "" : formDecode(pair.slice(eq + 1)), maxDepth);
    }
    start = end + 1;
  }
  return form;
}
