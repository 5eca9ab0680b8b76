/**
 * `WebServer`: a Worker that serves static files over `http://`, with virtual hosts.
 *
 * `addRoot(domain, directory)` maps a Host (port ignored, any case) to a directory; a request
 * whose Host matches no root is served from the first root added. Directories serve their
 * `index.html` (a directory URL without a trailing slash is redirected to one). Files are sent
 * as `Response.withFile` sends them: MIME type, `Last-Modified`, `If-Modified-Since` → 304,
 * `Range` → 206, streamed with back-pressure.
 *
 * Nothing outside the root is ever served: the path is percent-decoded once, a `..` segment is
 * refused with 403, and the file's real path (symlinks resolved) must lie inside the root's
 * real path, else 403. Dot-files and dot-directories (`.git`, `.env`) are refused with 403,
 * except `/.well-known/`. Unknown paths answer 404 (the root's `custom404` file if given).
 *
 * Setting `onMessage` on a WebServer makes it the handler of every request no file answers
 * (paths that do not exist, and methods other than GET and HEAD), as Workerman's WebServer
 * falls back to `index.php`: one Worker serves a page and its API.
 *
 * @example
 * ```ts
 * import { WebServer, Worker } from "workerman-ts";
 * const web = new WebServer("http://0.0.0.0:8080");
 * web.addRoot("www.example.com", "/srv/www");
 * web.onMessage = (conn, request) => conn.send(`no file for ${request.path()}`);
 * Worker.runAll();
 * ```
 *
 * @module
 */
import type { Callback } from "../../core/protocol.ts";
import { Worker, type WorkerContext } from "../../core/worker.ts";
import { runtime } from "../../runtime/mod.ts";
import { type HttpOptions, HttpProtocol } from "./protocol.ts";
import type { Request } from "./request.ts";
import type { HttpConnection } from "./mod.ts";
import { type HeaderValue, Response } from "./response.ts";

/** One document root, as `addRoot` takes it (Workerman's `{root, additionHeader, custom404}`). */
export interface WebRoot {
  /** The directory served. */
  root: string;
  /** Headers added to every file response from this root. */
  additionHeader?: Record<string, HeaderValue>;
  /** A file sent (with status 404) when nothing matches. */
  custom404?: string;
}

interface Site extends WebRoot {
  /** The root's real path, resolved on first use. */
  real: string | null;
}

type Conn = HttpConnection;
type Handler = Callback<[conn: HttpConnection, request: Request]> | null;

const NOT_FOUND =
  "<html><head><title>404 File not found</title></head><body><center><h3>404 Not Found</h3></center></body></html>";

/** A Worker serving static files from roots per Host, and `onMessage` for what no file answers. */
export class WebServer extends Worker<`http://${string}`, undefined> {
  private readonly _sites = new Map<string, Site>();
  private _first: Site | null = null;
  private _fallback: Handler = null;

  /** `socketName` is `http://host:port`; `options` sets the HTTP limits. */
  constructor(socketName: string, context: WorkerContext<undefined> = {}, options?: HttpOptions) {
    super(socketName as `http://${string}`, context);
    this.name = "WebServer";
    if (options !== undefined) this.protocol = new HttpProtocol(options);
    const serve = (conn: Conn, request: Request) => this._serve(conn, request);
    Object.defineProperty(this, "onMessage", {
      configurable: true,
      enumerable: true,
      get: () => serve,
      set: (fn: Handler) => {
        this._fallback = fn;
      },
    });
  }

  /** Serve `root` (a directory, or `{ root, additionHeader, custom404 }`) for the Host `domain`. */
  addRoot(domain: string, root: string | WebRoot): this {
    const site: Site = typeof root === "string" ? { root, real: null } : { ...root, real: null };
    site.root = site.root.replace(/\/+$/, "") || "/";
    this._sites.set(domain.toLowerCase(), site);
    this._first ??= site;
    return this;
  }

  /** Answer 404 (the root's `custom404` page when it has one). */
  private _notFound(conn: Conn, site: Site | null): unknown {
    if (site?.custom404) return conn.send(new Response(404).withFile(site.custom404));
    return conn.send(new Response(404, {}, NOT_FOUND));
  }

  /** Serve a request from the files of its Host's root, or hand it to `onMessage`. */
  private _serve(conn: Conn, request: Request): unknown {
    const method = request.method();
    if (method !== "GET" && method !== "HEAD") {
      if (this._fallback) return this._fallback(conn, request);
      return conn.send(new Response(405, { Allow: "GET, HEAD" }, "<h3>405 Method Not Allowed</h3>"));
    }
    const host = request.host(true);
    const site = (host !== null ? this._sites.get(host.toLowerCase()) : undefined) ?? this._first;
    if (site === null) return this._fallback ? this._fallback(conn, request) : this._notFound(conn, null);
    const path = request.path();
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return conn.send(new Response(400, {}, "<h3>400 Bad Request</h3>"));
    }
    if (decoded[0] !== "/" || decoded.includes("\0")) {
      return conn.send(new Response(400, {}, "<h3>400 Bad Request</h3>"));
    }
    const segments = decoded.split("/");
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i];
      if (seg === ".." || (seg[0] === "." && !(i === 1 && seg === ".well-known"))) {
        return conn.send(new Response(403, {}, "<h3>403 Forbidden</h3>"));
      }
    }
    let file = site.root + decoded;
    let st = runtime.files.stat(file);
    if (st?.isDirectory) {
      if (!decoded.endsWith("/")) {
        const query = request.queryString();
        return conn.send(new Response(301, { Location: `${path}/${query ? `?${query}` : ""}` }));
      }
      file += "index.html";
      st = runtime.files.stat(file);
    }
    if (!st?.isFile) return this._fallback ? this._fallback(conn, request) : this._notFound(conn, site);
    const real = runtime.files.realpath(file);
    site.real ??= runtime.files.realpath(site.root);
    const rootReal = site.real;
    if (real === null || rootReal === null || !(real.startsWith(rootReal === "/" ? "/" : `${rootReal}/`))) {
      return conn.send(new Response(403, {}, "<h3>403 Forbidden</h3>"));
    }
    return conn.send(new Response(200, site.additionHeader ?? {}).withFile(real));
  }
}
