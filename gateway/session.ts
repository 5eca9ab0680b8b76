/**
 * Client sessions as GatewayWorker stores them: a PHP-serialized array held by the gateway
 * (`""` while empty) and a plain object in business code.
 *
 * @module
 */
import { phpSerialize, phpUnserialize } from "./protocol.ts";

/** A client's session in business code. */
export type Session = Record<string, unknown>;

/** Serialize a session; an empty or missing one is `""`, as the gateway stores "no session". */
export function sessionEncode(session: Session | null | undefined): string {
  if (session === null || session === undefined) return "";
  if (typeof session !== "object") throw new TypeError("a session must be an object (or null)");
  return Object.keys(session).length === 0 ? "" : phpSerialize(session);
}

/**
 * Unserialize a stored session: `""` gives null, and so does text that is not PHP-serialized
 * (PHP's `unserialize` gives false), so a bad `setSocketSession` cannot break the client's
 * later events; a PHP list becomes an object keyed 0..n-1.
 */
export function sessionDecode(text: string): Session | null {
  if (text === "") return null;
  let value: unknown;
  try {
    value = phpUnserialize(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== "object") return null;
  return Array.isArray(value) ? { ...value } : value as Session;
}

const isPlainObject = (v: unknown): v is Session => v !== null && typeof v === "object" && !Array.isArray(v);

/** PHP's `array_replace_recursive(base, update)` on sessions. */
export function mergeSessions(base: Session, update: Session): Session {
  const out: Session = { ...base };
  for (const [key, value] of Object.entries(update)) {
    const old = out[key];
    out[key] = isPlainObject(old) && isPlainObject(value) ? mergeSessions(old, value) : value;
  }
  return out;
}
