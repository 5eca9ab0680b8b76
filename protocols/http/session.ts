/**
 * Sessions: `await request.session()` gives the {@link Session} of the request's session cookie
 * (`PHPSID` by default), loaded through a {@link SessionHandler}; changes are saved when the
 * request's response is sent (or by `await session.save()`).
 *
 * A request without a valid session cookie (missing, or not 16–128 letters and digits) gets a
 * new session with a random 128-bit id, sent back in a `Set-Cookie` on that response: a forged
 * or malformed cookie never reaches the handler and never crashes anything.
 *
 * The one difference from Workerman: `session()` returns a Promise, because a handler may be
 * asynchronous (a Redis handler implements the same interface).
 *
 * @example
 * ```ts
 * import { Worker } from "workerman-ts";
 * const http = new Worker("http://0.0.0.0:8080");
 * http.onMessage = async (conn, request) => {
 *   const session = await request.session();
 *   session.set("visits", (session.get("visits") ?? 0) + 1);
 *   conn.send(`visit ${session.get("visits")}`);
 * };
 * Worker.runAll();
 * ```
 *
 * @module
 */
import { reportError } from "../../core/log.ts";
import { runtime } from "../../runtime/mod.ts";

/** Where sessions are stored. Every method may return a Promise. */
export interface SessionHandler {
  /** The data last written for `id`, or null when there is none (or it expired). */
  read(id: string): string | null | Promise<string | null>;
  /** Store the data of session `id`. */
  write(id: string, data: string): void | Promise<void>;
  /** Delete session `id`. */
  destroy(id: string): void | Promise<void>;
  /** Remove the sessions unused for more than `maxLifetime` seconds. */
  gc(maxLifetime: number): void | Promise<void>;
}

/** Stores each session as `session_<id>` (JSON) in a directory, by default the temp dir. */
export class FileSessionHandler implements SessionHandler {
  /** The directory the session files live in. */
  readonly savePath: string;

  /** Sessions as files in `savePath` (the temp dir by default). */
  constructor(savePath: string = runtime.tempDir()) {
    this.savePath = savePath;
  }

  /** The file of session `id`. */
  private file(id: string): string {
    return `${this.savePath}/session_${id}`;
  }

  read(id: string): string | null {
    const file = this.file(id);
    const st = runtime.files.stat(file);
    if (!st) return null;
    if (Date.now() - st.mtimeMs > Session.lifetime * 1000) {
      runtime.removeFile(file);
      return null;
    }
    return runtime.readFile(file);
  }

  /** Store session `id` in its file. */
  write(id: string, data: string): void {
    runtime.files.mkdir(this.savePath);
    // Write beside, then rename: a reader never sees half a session.
    const tmp = `${this.file(id)}.${randomHex(4)}.tmp`;
    runtime.writeFile(tmp, data);
    runtime.files.rename(tmp, this.file(id));
  }

  /** Delete session `id`'s file. */
  destroy(id: string): void {
    runtime.removeFile(this.file(id));
  }

  gc(maxLifetime: number): void {
    const now = Date.now();
    for (const name of runtime.files.readDir(this.savePath)) {
      if (!name.startsWith("session_")) continue;
      const path = `${this.savePath}/${name}`;
      const st = runtime.files.stat(path);
      if (st?.isFile && now - st.mtimeMs > maxLifetime * 1000) runtime.removeFile(path);
    }
  }
}

/** `n` random bytes as hex (from the Web Crypto CSPRNG). */
export function randomHex(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let s = "";
  for (let i = 0; i < n; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return s;
}

const VALID_ID = /^[a-zA-Z0-9]{16,128}$/;

/** One session's data. Changing it marks it to be saved. */
export class Session {
  /** The cookie that carries the session id (Workerman's `Session::$name`). */
  static sessionName = "PHPSID";
  /** Seconds a session lives without being written; older ones are collected. */
  static lifetime = 1440;
  /** Cookie `Max-Age` in seconds; 0 = until the browser closes. */
  static cookieLifetime = 0;
  /** The session cookie's `Path`. */
  static cookiePath = "/";
  /** The session cookie's `Domain` (empty: the request's host). */
  static domain = "";
  /** Send the session cookie over HTTPS only. */
  static secure = false;
  /** Hide the session cookie from scripts. */
  static httpOnly = true;
  /** The session cookie's `SameSite`. */
  static sameSite = "Lax";
  /** Garbage collection runs on `gcProbability[0]` in `gcProbability[1]` session starts. */
  static gcProbability: [number, number] = [1, 1000];
  private static _handler: SessionHandler | null = null;

  /** The storage for sessions: a {@link FileSessionHandler} in the temp dir unless set. */
  static get handler(): SessionHandler {
    return (Session._handler ??= new FileSessionHandler());
  }
  static set handler(handler: SessionHandler) {
    Session._handler = handler;
  }

  /** A new random session id: 32 hex digits (128 bits). */
  static createSessionId(): string {
    return randomHex(16);
  }

  /** True when `id` may be a session id (16-128 letters and digits). */
  static isValidId(id: unknown): id is string {
    return typeof id === "string" && VALID_ID.test(id);
  }

  /** The `Set-Cookie` value that hands `id` to the browser. */
  static cookieLine(id: string): string {
    return `${Session.sessionName}=${id}` +
      (Session.domain ? `; Domain=${Session.domain}` : "") +
      (Session.cookieLifetime ? `; Max-Age=${Session.cookieLifetime}` : "") +
      (Session.cookiePath ? `; Path=${Session.cookiePath}` : "") +
      (Session.sameSite ? `; SameSite=${Session.sameSite}` : "") +
      (Session.secure ? "; Secure" : "") +
      (Session.httpOnly ? "; HttpOnly" : "");
  }

  /** Load session `id` through the handler (a missing or unreadable one starts empty). */
  static async load(id: string): Promise<Session> {
    const [n, d] = Session.gcProbability;
    if (n > 0 && Math.random() * d < n) {
      Promise.resolve().then(() => Session.handler.gc(Session.lifetime)).catch((err) => reportError("session gc", err));
    }
    let data: Record<string, unknown> = {};
    const raw = await Session.handler.read(id);
    if (raw) {
      try {
        const parsed = JSON.parse(raw);
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) data = parsed;
      } catch { /* a damaged session starts empty */ }
    }
    return new Session(id, data);
  }

  private readonly _id: string;
  private _data: Record<string, unknown>;
  private _dirty = false;

  /** Session `id` holding `data` (use `await request.session()`). */
  constructor(id: string, data: Record<string, unknown> = {}) {
    this._id = id;
    this._data = data;
  }

  /** The session id (the cookie's value). */
  getId(): string {
    return this._id;
  }
  /** The value of `name` (`def`, default null, when absent); `T` says what the application stored there. */
  get<T = unknown>(name: string): T | null;
  /** The value of `name`, or `def` when absent. */
  get<T>(name: string, def: T): T;
  get(name: string, def: unknown = null): unknown {
    return Object.hasOwn(this._data, name) ? this._data[name] : def;
  }
  /** Store `value` under `name`. */
  set(name: string, value: unknown): void {
    if (name === "__proto__") {
      Object.defineProperty(this._data, name, { value, writable: true, enumerable: true, configurable: true });
    } else this._data[name] = value;
    this._dirty = true;
  }
  /** Set one key, or several from an object. */
  put(key: string | Record<string, unknown>, value?: unknown): void {
    if (typeof key === "string") this.set(key, value);
    else for (const [k, v] of Object.entries(key)) this.set(k, v);
  }
  /** Remove `name`. */
  delete(name: string): void {
    if (!Object.hasOwn(this._data, name)) return;
    delete this._data[name];
    this._dirty = true;
  }
  /** Remove one key or several. */
  forget(name: string | string[]): void {
    for (const n of typeof name === "string" ? [name] : name) this.delete(n);
  }
  /** Get and remove. */
  pull<T = unknown>(name: string): T | null;
  /** Get and remove; `def` when absent. */
  pull<T>(name: string, def: T): T;
  pull(name: string, def: unknown = null): unknown {
    const value = this.get(name, def);
    this.delete(name);
    return value;
  }
  /** Everything stored. */
  all(): Record<string, unknown> {
    return this._data;
  }
  /** Remove everything. */
  flush(): void {
    this._data = {};
    this._dirty = true;
  }
  /** True when `name` is set to something other than null/undefined. */
  has(name: string): boolean {
    return Object.hasOwn(this._data, name) && this._data[name] !== null && this._data[name] !== undefined;
  }
  /** True when `name` is set at all. */
  exists(name: string): boolean {
    return Object.hasOwn(this._data, name);
  }
  /** True when changed since loaded or last saved. */
  get dirty(): boolean {
    return this._dirty;
  }
  /** Write the data now if it changed (an empty session is destroyed). */
  async save(): Promise<void> {
    if (!this._dirty) return;
    this._dirty = false;
    if (Object.keys(this._data).length === 0) await Session.handler.destroy(this._id);
    else await Session.handler.write(this._id, JSON.stringify(this._data));
  }
  /** Write the data even if unchanged (keeps the session from expiring). */
  async refresh(): Promise<void> {
    this._dirty = true;
    await this.save();
  }
}
