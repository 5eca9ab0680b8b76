/**
 * The few members of the `Deno` namespace that `deno.ts` calls, declared locally so the
 * project type-checks with `@types/node` alone (no Deno lib). Only what is used is here;
 * names and shapes follow Deno's own `lib.deno.ns.d.ts`.
 *
 * @module
 */

/** `Deno.NetAddr` / `Deno.UnixAddr`, merged: `hostname`+`port` for tcp, `path` for unix. */
export interface DenoAddr {
  transport: "tcp" | "udp" | "unix" | "unixpacket" | "vsock";
  hostname?: string;
  port?: number;
  path?: string | null;
}

/** `Deno.Conn`, `Deno.TcpConn` and `Deno.TlsConn` in one shape. */
export interface DenoConn {
  /** Bytes read, or `null` at EOF. Rejects with `Interrupted`/`BadResource` once closed. */
  read(p: Uint8Array): Promise<number | null>;
  /** Bytes written; may be fewer than `p.length`. Attempted eagerly during the call. */
  write(p: Uint8Array): Promise<number>;
  /** Throws `BadResource` when already closed. */
  close(): void;
  /** `shutdown(SHUT_WR)`. */
  closeWrite(): Promise<void>;
  readonly localAddr: DenoAddr;
  readonly remoteAddr: DenoAddr;
  /** TCP only. */
  setNoDelay?(noDelay?: boolean): void;
  /** TLS only. */
  handshake?(): Promise<unknown>;
}

/** `Deno.Listener`. */
export interface DenoListener {
  accept(): Promise<DenoConn>;
  close(): void;
  readonly addr: DenoAddr;
}

/** The subset of the `Deno` namespace used by the adapter. */
export interface DenoNamespace {
  /** `reusePort` needs --unstable-net: without it Deno exits the process. */
  listen(
    options: { transport?: "tcp"; hostname?: string; port?: number; tcpBacklog?: number; reusePort?: boolean },
  ): DenoListener;
  listen(options: { transport: "unix"; path: string }): DenoListener;
  listenTls(
    options: { hostname?: string; port?: number; tcpBacklog?: number; reusePort?: boolean; cert: string; key: string },
  ): DenoListener;
  /** Present only with --unstable-net (not called, only tested for). */
  readonly listenDatagram?: unknown;
  connect(options: { transport?: "tcp"; hostname?: string; port: number }): Promise<DenoConn>;
  connect(options: { transport: "unix"; path: string }): Promise<DenoConn>;
  /** Client-side TLS over an established TCP connection, which it consumes. */
  startTls(conn: DenoConn, options: { hostname?: string }): Promise<DenoConn>;
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
  /** Lets the event loop finish while this timer is pending. */
  unrefTimer(id: unknown): void;
  execPath(): string;
  readonly permissions: {
    querySync(descriptor: { name: "read"; path: string }): { state: "granted" | "denied" | "prompt" };
  };
  readonly mainModule: string;
  readonly args: string[];
  readonly version: { deno: string };
  readonly errors: {
    BadResource: new (...args: never[]) => Error;
    Interrupted: new (...args: never[]) => Error;
  };
}
