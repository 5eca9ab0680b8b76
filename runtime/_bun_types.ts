/**
 * The few members of Bun's global API that `runtime/bun.ts` calls, declared locally so the
 * project type-checks with `@types/node` alone (no `bun-types`). Only what is used is here,
 * typed as Bun 1.4 behaves (checked by experiment, not copied from `bun-types`).
 *
 * @module
 */

/** A `Bun.listen` / `Bun.connect` socket (TCP, TLS or unix). `D` is the per-socket `data`. */
export interface BunSocket<D> {
  /** Per-socket state; set freely. */
  data: D;
  /**
   * Write as much as the kernel takes right now; returns the number of bytes written
   * (the rest is dropped), or -1 when the socket is closed.
   */
  write(data: string | Uint8Array): number;
  /** Close: TCP closes the descriptor at once (FIN, `close` fires synchronously); TLS sends close_notify and FIN, then waits for the peer. */
  end(): void;
  /** With no argument: shutdown(SHUT_WR), i.e. FIN; reading goes on until the peer's FIN closes the socket. */
  shutdown(halfClose?: boolean): void;
  /** Close now with a reset; `close` fires synchronously. */
  terminate(): void;
  /** Idle timeout in seconds, 0 to disable (fires the handler's `timeout`; coarse, ~4 s granularity). */
  timeout(seconds: number): void;
  /** Stop / start polling the descriptor for reading. */
  pause(): void;
  resume(): void;
  /** Undefined for unix sockets and after close. */
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
}

/** The shared handler object of a listener or of outgoing connections. */
export interface BunSocketHandler<D> {
  open?(socket: BunSocket<D>): void;
  /** TLS only: the handshake finished. `success` is false when it failed or verification rejected the peer. */
  handshake?(socket: BunSocket<D>, success: boolean, authorizationError: Error | null): void;
  /** A fresh Buffer per call. */
  data?(socket: BunSocket<D>, data: Uint8Array): void;
  drain?(socket: BunSocket<D>): void;
  /** The peer sent FIN. */
  end?(socket: BunSocket<D>): void;
  close?(socket: BunSocket<D>, error?: Error): void;
  /** Called with exceptions thrown by the other handlers (and possibly I/O errors). */
  error?(socket: BunSocket<D>, error: Error): void;
  connectError?(socket: BunSocket<D>, error: Error): void;
  timeout?(socket: BunSocket<D>): void;
}

export interface BunTlsOptions {
  cert?: string;
  key?: string;
  ca?: string;
  serverName?: string;
  rejectUnauthorized?: boolean;
}

export interface BunListenOptions<D> {
  hostname?: string;
  port?: number;
  unix?: string;
  /**
   * Accept on this already listening descriptor instead of binding (Bun sets O_NONBLOCK on it,
   * `stop()` closes it; `hostname`/`port` of the listener are then undefined).
   */
  fd?: number;
  tls?: BunTlsOptions;
  allowHalfOpen?: boolean;
  /** SO_REUSEPORT; without it a second bind of the same port fails with EADDRINUSE. */
  reusePort?: boolean;
  socket: BunSocketHandler<D>;
}

export interface BunConnectOptions<D> {
  hostname?: string;
  port?: number;
  unix?: string;
  tls?: BunTlsOptions;
  allowHalfOpen?: boolean;
  /** Initial `socket.data`. */
  data?: D;
  socket: BunSocketHandler<D>;
}

export interface BunListener {
  /** Undefined for unix listeners. */
  readonly hostname: string | undefined;
  readonly port: number | undefined;
  /** Stop accepting (and remove a unix socket file); open sockets stay unless `closeActiveConnections`. */
  stop(closeActiveConnections?: boolean): void;
}

export interface BunUdpSocket {
  readonly hostname: string;
  readonly port: number;
  /** Throws on an address that is not an IP literal or on a closed socket. */
  send(data: string | Uint8Array, port: number, address: string): boolean;
  close(): void;
}

export interface BunUdpOptions {
  hostname?: string;
  port?: number;
  /**
   * Read this already bound UDP descriptor instead of binding (not in Bun's documentation;
   * it is how Bun's node:dgram adopts a socket passed over IPC; `close()` closes it).
   */
  fd?: number;
  socket?: {
    data?(socket: BunUdpSocket, data: Uint8Array, port: number, address: string): void;
    error?(socket: BunUdpSocket, error: Error): void;
  };
}

export interface BunSubprocess {
  readonly pid: number;
  readonly connected: boolean;
  /** Throws once the process has exited. */
  send(message: unknown): boolean | void;
  kill(signal?: string | number): void;
  /** Close the IPC channel. */
  disconnect(): void;
  /** Let this process exit without waiting for the child. */
  unref(): void;
}

/**
 * One stdio slot of `Bun.spawn`: a descriptor number is dup2'ed to the slot's number in the
 * child (close-on-exec does not carry over). Slots past 2 are allowed; the IPC channel then
 * takes the first number after the last slot.
 */
export type BunStdio = "inherit" | "ignore" | number;

export interface BunSpawnOptions {
  env?: Record<string, string | undefined>;
  stdio?: BunStdio[];
  /** setsid() in the child: a new session and process group. */
  detached?: boolean;
  /** Opens an IPC channel; the child uses `process.send` / `process.on("message")`. */
  ipc?(message: unknown, subprocess: BunSubprocess): void;
  serialization?: "json" | "advanced";
  /** `signalCode` is the signal name in Bun 1.4 (a number in older releases). */
  onExit?(subprocess: BunSubprocess, exitCode: number | null, signalCode: number | string | null, error?: Error): void;
}

/** The C types of `bun:ffi` the adapter uses. */
export type BunFfiType = "i32" | "u32" | "ptr";

/** `bun:ffi`, loaded with a dynamic import so that other runtimes never see it. */
export interface BunFfi {
  /** Pointers are plain numbers; a typed array may be passed where a `ptr` is expected. */
  dlopen<S extends Record<string, { args: BunFfiType[]; returns: BunFfiType }>>(
    path: string,
    symbols: S,
  ): { symbols: { [K in keyof S]: (...args: (number | ArrayBufferView)[]) => number }; close(): void };
  read: { i32(pointer: number, byteOffset?: number): number };
}

/** `globalThis.Bun`, as far as the adapter uses it. */
export interface BunGlobal {
  readonly version: string;
  /** Absolute path of the entry script (`/$bunfs/...` inside a compiled executable). */
  readonly main: string;
  listen<D>(options: BunListenOptions<D>): BunListener;
  connect<D>(options: BunConnectOptions<D>): Promise<BunSocket<D>>;
  udpSocket(options: BunUdpOptions): Promise<BunUdpSocket>;
  spawn(cmd: string[], options: BunSpawnOptions): BunSubprocess;
}
