/**
 * Node adapter: `node:net` / `node:tls` sockets, `node:dgram`, `child_process.fork`.
 * Also used by Deno for the pieces Deno only offers through its Node layer (fork with an IPC
 * channel, UDP without `--unstable-net`).
 *
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type ChildProcess, fork, spawn, type StdioOptions } from "node:child_process";
import { lookup as dnsLookup } from "node:dns/promises";
import { getSystemErrorName } from "node:util";
import process from "node:process";
import type {
  Child,
  Conn,
  ConnectOptions,
  ConnHandler,
  Datagram,
  Listener,
  ListenOptions,
  LookupAddress,
  Runtime,
  SharedSocket,
  SpawnOptions,
  UdpOptions,
  UdpSocket,
} from "./types.ts";
import { commonProcessFacts, displayPath, npxPackageDir, programName, shellWord } from "./_process.ts";
import { gzip, rawZlib } from "./_zlib.ts";

// Shared listeners (EventEmitter calls them with `this` = the socket): no closures per
// connection, which keeps idle connections small.
const HANDLER = Symbol("handler");
type HandledSocket = net.Socket & { [HANDLER]?: ConnHandler | null };
function onSocketData(this: HandledSocket, chunk: Uint8Array) {
  // A plain Uint8Array view: the core slices every package out of it, and Buffer's own
  // subarray() is several times slower than the typed array's (profiled on Node 20).
  this[HANDLER]!.handleData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
}
function onSocketDrain(this: HandledSocket) {
  this[HANDLER]!.handleDrain();
}
function onSocketEnd(this: HandledSocket) {
  this[HANDLER]!.handleEnd();
}
function onSocketClose(this: HandledSocket) {
  const handler = this[HANDLER];
  if (!handler) return;
  this[HANDLER] = null;
  handler.handleClose(this.errored ?? undefined);
}
function ignoreError() {}

/** Wraps a `net.Socket` (or `tls.TLSSocket`) in the {@link Conn} shape. */
class NodeConn implements Conn {
  socket: net.Socket;
  constructor(socket: net.Socket) {
    this.socket = socket;
  }
  get remoteAddress(): string {
    return this.socket.remoteAddress ?? "";
  }
  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }
  get localAddress(): string {
    return this.socket.localAddress ?? "";
  }
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }
  start(handler: ConnHandler): void {
    const s = this.socket as HandledSocket;
    s[HANDLER] = handler;
    s.on("data", onSocketData);
    s.on("drain", onSocketDrain);
    s.on("end", onSocketEnd);
    s.on("error", ignoreError); // reported through 'close'
    s.on("close", onSocketClose);
  }
  write(data: Uint8Array | string): boolean {
    const s = this.socket;
    if (s.destroyed) return false;
    s.write(data);
    // libuv tries the write synchronously; a completed write has already left writableLength.
    if (s.writableLength === 0) return true;
    if (!s.writableNeedDrain) {
      // Node emits 'drain' only after a write() that returned false (its queue reached the
      // highWaterMark, 16 KiB). A smaller write the kernel could not take at once (its buffer
      // is full; Deno's node:net writes asynchronously) would be followed by no event at all,
      // and the contract promises handleDrain: ask for it the way write() itself does (Node
      // and Deno keep this flag in `_writableState`).
      const state = (s as unknown as { _writableState?: { needDrain: boolean } })._writableState;
      if (state) state.needDrain = true;
    }
    return false;
  }
  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }
  end(): void {
    this.socket.end();
  }
  destroy(): void {
    this.socket.destroy();
  }
}

function prepare(socket: net.Socket): NodeConn {
  socket.setNoDelay(true);
  return new NodeConn(socket);
}

/** A net/tls server whose connections reach `onConnection` as {@link Conn}s. */
function createServer(options: ListenOptions, onConnection: (conn: Conn) => void): net.Server {
  const accept = (socket: net.Socket) => onConnection(prepare(socket));
  const serverOptions = { allowHalfOpen: true, pauseOnConnect: false };
  const server: net.Server = options.transport === "ssl"
    ? tls.createServer({ ...serverOptions, cert: options.tls?.cert, key: options.tls?.key }, accept)
    : net.createServer(serverOptions, accept);
  if (options.transport === "ssl") {
    // A plain-text or broken client on a TLS port must not disturb anyone else.
    server.on("tlsClientError", (_err: Error, socket: net.Socket) => socket.destroy());
  }
  return server;
}

/** Log a listening server's errors (without a listener an 'error' event would end the process). */
function logErrors(server: net.Server): net.Server {
  return server.on("error", (err) => console.error(`listener error: ${err.message}`));
}

/** The {@link Listener} view of a listening server. */
function listenerOf(server: net.Server, options: ListenOptions, removePath: boolean): Listener {
  logErrors(server);
  const address = server.address();
  return {
    host: typeof address === "object" && address ? address.address : "",
    port: typeof address === "object" && address ? address.port : 0,
    path: options.transport === "unix" ? options.path : undefined,
    close() {
      server.close();
      if (removePath && options.transport === "unix" && options.path) {
        try {
          fs.unlinkSync(options.path);
        } catch { /* already gone */ }
      }
    },
  };
}

/**
 * Remove a socket file left by a previous run. Anything else at the path (a regular file, a
 * directory) is left alone, and binding then fails with EADDRINUSE.
 */
function removeStaleSocket(path: string): void {
  try {
    if (fs.lstatSync(path).isSocket()) fs.unlinkSync(path);
  } catch { /* nothing there */ }
}

export async function listen(options: ListenOptions, onConnection: (conn: Conn) => void): Promise<Listener> {
  if (options.reusePort && !supportsReusePort) throw reusePortUnsupported();
  const server = createServer(options, onConnection);
  if (options.transport === "unix" && options.path) removeStaleSocket(options.path);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    const listenOptions: net.ListenOptions = options.transport === "unix"
      ? { path: options.path, backlog: options.backlog }
      : { host: options.host, port: options.port, backlog: options.backlog };
    if (options.reusePort) (listenOptions as { reusePort?: boolean }).reusePort = true;
    server.listen(listenOptions, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return listenerOf(server, options, true);
}

/** SO_REUSEPORT through `listen({ reusePort })` arrived in Node 22.12; Deno's and Bun's node:net have it. */
export const supportsReusePort: boolean = (() => {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno || g.Bun) return true;
  const [major, minor] = process.versions.node.split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 12);
})();

function reusePortUnsupported(): Error {
  return Object.assign(
    new Error(
      `reusePort needs Node 22.12 or later (this is Node ${process.versions.node}); ` +
        `remove "reusePort = true" to share the master's socket, or run on Deno or Bun`,
    ),
    { code: "ERR_REUSEPORT_UNSUPPORTED" },
  );
}

// ---- sockets shared by a master with its children ---------------------------------------
//
// The master binds a raw handle (as Node's cluster does in SCHED_NONE mode) and never listens
// or accepts on it; each child receives it over the fork channel and listens on it. The
// socket stays open while the master holds it, so connections queue in the kernel while a
// child is replaced.

interface NodeSharedSocket extends SharedSocket {
  handle: object;
}

interface RawHandle {
  getsockname?(out: Record<string, unknown>): number;
  close(): void;
}

const createServerHandle = (net as unknown as {
  _createServerHandle(
    address: string,
    port: number,
    addressType: number,
    fd?: number,
    flags?: number,
  ): RawHandle | number;
})._createServerHandle;

export async function bindShared(options: ListenOptions): Promise<SharedSocket> {
  let handle: RawHandle | number;
  let host = "";
  if (options.transport === "unix") {
    if (options.path) removeStaleSocket(options.path);
    handle = createServerHandle(options.path!, -1, -1);
  } else {
    host = options.host || "0.0.0.0";
    const family = net.isIP(host) || (await dnsLookup(host)).family;
    if (!net.isIP(host)) host = (await dnsLookup(host)).address;
    handle = createServerHandle(host, options.port ?? 0, family);
  }
  if (typeof handle === "number") {
    const code = getSystemErrorName(handle);
    const where = options.transport === "unix" ? options.path : `${host}:${options.port}`;
    throw Object.assign(new Error(`bind ${where}: ${code}`), { code });
  }
  const out: Record<string, unknown> = {};
  handle.getsockname?.(out);
  if (options.transport !== "unix" && options.port && out.port !== options.port) {
    // libuv defers EADDRINUSE from bind() to listen(), which the master never calls: the
    // socket is simply left unbound.
    handle.close();
    throw Object.assign(new Error(`bind ${host}:${options.port}: EADDRINUSE`), { code: "EADDRINUSE" });
  }
  const raw = handle;
  const shared: NodeSharedSocket = {
    host: (out.address as string) ?? host,
    port: (out.port as number) ?? 0,
    path: options.path,
    handle: raw,
    close() {
      raw.close();
      if (options.transport === "unix" && options.path) {
        try {
          fs.unlinkSync(options.path);
        } catch { /* already gone */ }
      }
    },
  };
  return shared;
}

const SHARED_ENV = "WORKERMAN_RT_SHARED";
const received: unknown[] = [];
const waiting = new Map<number, (handle: unknown) => void>();

/** Datagrams a shared UDP socket received before `udpInherited` took it over (bounded), and their listener. */
const EARLY_DATAGRAMS = Symbol("earlyDatagrams");
const EARLY_LISTENER = Symbol("earlyListener");
const MAX_EARLY_DATAGRAMS = 1024;
type EarlySocket = dgram.Socket & {
  [EARLY_DATAGRAMS]?: Datagram[];
  [EARLY_LISTENER]?: (msg: Uint8Array, rinfo: dgram.RemoteInfo) => void;
};

// A child started with shared sockets collects them as they arrive, before anyone asks.
if (process.env[SHARED_ENV] && typeof process.send === "function") {
  process.on("message", (message: { __wm?: string; index?: number }, handle: unknown) => {
    if (message?.__wm !== "listener" || typeof message.index !== "number") return;
    if (handle instanceof dgram.Socket) {
      // A UDP socket arrives bound and already reading: keep what it reads until it is used.
      const early: Datagram[] = [];
      const keep = (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
        if (early.length < MAX_EARLY_DATAGRAMS) early.push({ data: msg, address: rinfo.address, port: rinfo.port });
      };
      (handle as EarlySocket)[EARLY_DATAGRAMS] = early;
      (handle as EarlySocket)[EARLY_LISTENER] = keep;
      handle.on("message", keep);
    }
    received[message.index] = handle;
    waiting.get(message.index)?.(handle);
  });
}

/** The `index`-th handle the parent passed, waiting (bounded) for it to arrive. */
async function inheritedHandle(index: number): Promise<unknown> {
  return received[index] ?? await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no shared socket #${index} from the master within 10 s`)), 10_000);
    waiting.set(index, (h) => {
      clearTimeout(timer);
      resolve(h);
    });
  });
}

/**
 * Takes over the accepts of a listening TCP server, handing `onConnection` its own kind of
 * {@link Conn} (Deno: runtime/_deno_uv.ts); false leaves the server as it is.
 */
export type AdoptAccepts = (server: net.Server, onConnection: (conn: Conn) => void) => boolean;

/** A server accepting on the `index`-th shared socket (its TCP accepts taken over by `adopt` when given). */
async function serveInherited(
  index: number,
  options: ListenOptions,
  onConnection: (conn: Conn) => void,
  adopt?: AdoptAccepts,
): Promise<net.Server> {
  const handle = await inheritedHandle(index);
  // Without its descriptor (dropped by the kernel), listen() would pick a random port instead.
  if (!handle) throw new Error(`shared socket #${index} arrived without its descriptor`);
  const server = createServer(options, onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(handle as net.ListenOptions, () => {
      server.off("error", reject);
      resolve();
    });
  });
  if (adopt && options.transport === "tcp") adopt(server, onConnection);
  return server;
}

export async function listenInherited(
  index: number,
  options: ListenOptions,
  onConnection: (conn: Conn) => void,
): Promise<Listener> {
  return listenerOf(await serveInherited(index, options, onConnection), options, false);
}

/**
 * {@link listenInherited} for a runtime whose listener stops accepting for good after EMFILE
 * (Deno): `resumeAccepting()` closes it and listens on a fresh copy of the master's socket,
 * asked for over the fork channel. Connections queued meanwhile stay in the master's socket.
 */
export async function listenInheritedResumable(
  index: number,
  options: ListenOptions,
  onConnection: (conn: Conn) => void,
  adopt?: AdoptAccepts,
): Promise<Listener> {
  let server = await serveInherited(index, options, onConnection, adopt);
  const listener = listenerOf(server, options, false);
  let closed = false;
  let resuming = false;
  return {
    ...listener,
    close() {
      closed = true;
      server.close();
    },
    resumeAccepting() {
      if (closed || resuming || typeof process.send !== "function") return;
      resuming = true;
      server.close();
      // The copy may not arrive while descriptors are still short (the kernel drops a passed
      // descriptor the receiver has no room for): then ask again until one does.
      const relisten = () => {
        if (closed) {
          resuming = false;
          return;
        }
        delete received[index];
        process.send!({ __wm: "relisten", index });
        serveInherited(index, options, onConnection, adopt).then(
          (fresh) => {
            resuming = false;
            if (closed) fresh.close();
            else server = logErrors(fresh);
          },
          (err) => {
            console.error(
              `listener error: cannot accept again after running out of descriptors (${
                (err as Error).message
              }); asking again in 1 s`,
            );
            setTimeout(relisten, 1000);
          },
        );
      };
      relisten();
    },
  };
}

export function connect(options: ConnectOptions): Promise<Conn> {
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    const done = () => {
      socket.off("error", reject);
      resolve(prepare(socket));
    };
    if (options.transport === "ssl") {
      const tlsOptions: tls.ConnectionOptions = {
        host: options.host,
        port: options.port,
        // SNI carries host names only (RFC 6066); an IP address is left out.
        servername: options.tls?.servername ?? (options.host && !net.isIP(options.host) ? options.host : undefined),
        rejectUnauthorized: options.tls?.verify !== false,
      };
      if (options.tls?.ca) tlsOptions.ca = options.tls.ca;
      socket = tls.connect(tlsOptions, done);
    } else if (options.transport === "unix") {
      socket = net.connect({ path: options.path!, allowHalfOpen: true }, done);
    } else {
      socket = net.connect({ host: options.host, port: options.port!, allowHalfOpen: true }, done);
    }
    socket.once("error", reject);
  });
}

/** A bound `dgram.Socket` for `options`, not yet read from by anyone. */
async function bindDgram(options: UdpOptions): Promise<dgram.Socket> {
  const socket = dgram.createSocket({
    type: net.isIPv6(options.host) ? "udp6" : "udp4",
    reuseAddr: options.reusePort,
    // SO_REUSEPORT proper (Node 22.12+; ignored where unknown).
    ...(options.reusePort ? { reusePort: true } : {}),
  } as dgram.SocketOptions);
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(options.port, options.host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  return socket;
}

/** The {@link UdpSocket} view of a bound `dgram.Socket`, delivering to `onDatagram`. */
function udpSocketOf(socket: dgram.Socket, onDatagram: (d: Datagram) => void): UdpSocket {
  socket.on("message", (msg, rinfo) => onDatagram({ data: msg, address: rinfo.address, port: rinfo.port }));
  socket.on("error", (err) => console.error(`udp error: ${err.message}`));
  const address = socket.address();
  return {
    host: address.address,
    port: address.port,
    send(data, port, address) {
      try {
        socket.send(data, port, address);
        return true;
      } catch {
        return false;
      }
    },
    close() {
      try {
        socket.close();
      } catch { /* already closed */ }
    },
  };
}

export async function udp(options: UdpOptions, onDatagram: (d: Datagram) => void): Promise<UdpSocket> {
  return udpSocketOf(await bindDgram(options), onDatagram);
}

/**
 * Run `fn` without Node's deprecation warning: the dgram internal a shared UDP socket needs
 * (`_stopReceiving`, DEP0112) has no public replacement.
 */
function quietly<T>(fn: () => T): T {
  // Node's own property; Deno's type of `process` (a Deno project type-checking this file) lacks it.
  const proc = process as { noDeprecation?: boolean };
  const before = proc.noDeprecation;
  proc.noDeprecation = true;
  try {
    return fn();
  } finally {
    proc.noDeprecation = before;
  }
}

/**
 * The master binds a `dgram.Socket` and stops it from reading at once (`stopReceiving`), so
 * every datagram goes to a child. It passes the socket over the fork channel
 * (`child.send(message, socket)`), and the child gets a `dgram.Socket` on the same kernel
 * socket. Used on Node and Deno; Bun's `_stopReceiving` does not stop reading (checked on
 * 1.4.5), so bun.ts binds through libc instead.
 */
export async function bindSharedUdp(options: UdpOptions, receiveInFlight = false): Promise<SharedSocket> {
  const socket = await bindDgram({ ...options, reusePort: false });
  stopReceiving(socket);
  if (receiveInFlight) await satisfyReceive(socket);
  const address = socket.address();
  const shared: NodeSharedSocket = {
    host: address.address,
    port: address.port,
    handle: socket,
    close() {
      try {
        socket.close();
      } catch { /* already closed */ }
    },
  };
  return shared;
}

/**
 * Stop a bound `dgram.Socket` from reading without closing it. `_stopReceiving()` does that up
 * to Node 25 and in Deno's node:dgram; Node 26 removed it (DEP0112 reached end of life), so there
 * the same two steps are taken on the socket's internal state: stop the handle's receive loop
 * and mark the socket as not receiving (nodejs/node lib/dgram.js).
 */
function stopReceiving(socket: dgram.Socket): void {
  const legacy = socket as unknown as { _stopReceiving?: () => void };
  if (typeof legacy._stopReceiving === "function") {
    quietly(() => legacy._stopReceiving!());
    return;
  }
  const key = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === "state symbol");
  const state = key &&
    (socket as unknown as Record<symbol, { handle?: { recvStop?: () => void }; receiving?: boolean }>)[key];
  if (!state || typeof state.handle?.recvStop !== "function") {
    throw new Error(
      `cannot share a UDP socket on Node ${process.versions.node}: its dgram internals are not the expected ones`,
    );
  }
  state.handle.recvStop();
  state.receiving = false;
}

/**
 * Where `_stopReceiving()` leaves one receive pending (Deno's node:dgram, see deno.ts), hand
 * it a datagram of ours, before any child exists, so that it swallows no client's.
 */
async function satisfyReceive(socket: dgram.Socket): Promise<void> {
  const { address, port, family } = socket.address();
  const v6 = family === "IPv6" || (family as unknown) === 6;
  const target = address === "0.0.0.0" ? "127.0.0.1" : address === "::" ? "::1" : address;
  const sender = dgram.createSocket(v6 ? "udp6" : "udp4");
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      socket.once("message", () => {
        clearTimeout(timer);
        resolve();
      });
      sender.send("workerman-ts: shared socket ready", port, target);
    });
  } finally {
    sender.close();
  }
}

export async function udpInherited(index: number, onDatagram: (d: Datagram) => void): Promise<UdpSocket> {
  const socket = await inheritedHandle(index) as EarlySocket;
  if (!(socket instanceof dgram.Socket)) throw new Error(`shared socket #${index} from the master is not a UDP socket`);
  const early = socket[EARLY_DATAGRAMS] ?? [];
  if (socket[EARLY_LISTENER]) socket.off("message", socket[EARLY_LISTENER]);
  socket[EARLY_DATAGRAMS] = socket[EARLY_LISTENER] = undefined;
  const udpSocket = udpSocketOf(socket, onDatagram);
  for (const d of early) onDatagram(d);
  return udpSocket;
}

export async function lookup(host: string): Promise<LookupAddress> {
  const family = net.isIP(host);
  if (family !== 0) return { address: host, family: family as 4 | 6 };
  const found = await dnsLookup(host);
  return { address: found.address, family: found.family === 6 ? 6 : 4 };
}

/** The stdio of a child: inherited, discarded, or appended to `stdoutFile`; always with an IPC channel. */
export function childStdio(options: SpawnOptions): StdioOptions {
  if (options.stdoutFile) {
    const fd = fs.openSync(options.stdoutFile, "a");
    return ["ignore", fd, fd, "ipc"];
  }
  return options.inheritStdio === false
    ? ["ignore", "ignore", "ignore", "ipc"]
    : ["inherit", "inherit", "inherit", "ipc"];
}

/** The environment of a child: the parent's, `options.env`, and how many shared sockets follow. */
export function childEnv(options: SpawnOptions): Record<string, string | undefined> {
  return { ...process.env, ...options.env, [SHARED_ENV]: options.shared?.length ? String(options.shared.length) : "" };
}

/** Wraps a forked child in the {@link Child} shape and hands it the shared sockets. */
export function wrapChild(child: ChildProcess, options: SpawnOptions): Child {
  const sendShared = (index: number) => {
    const socket = options.shared?.[index] as NodeSharedSocket | undefined;
    if (socket?.handle && child.connected) child.send({ __wm: "listener", index }, socket.handle as net.Server);
  };
  child.on("message", (m: { __wm?: string; index?: number }) => {
    if (!m?.__wm) options.onMessage?.(m);
    // A child whose listener stopped after EMFILE asks for its socket again (listenInheritedResumable).
    else if (m.__wm === "relisten" && typeof m.index === "number") sendShared(m.index);
  });
  child.on("exit", (code, signal) => options.onExit(code, signal));
  child.on("error", () => {}); // a failed send on a closing channel; the exit event reports the end
  options.shared?.forEach((_, index) => sendShared(index));
  return {
    detach() {
      if (child.connected) child.disconnect();
      child.unref();
    },
    get pid() {
      return child.pid ?? 0;
    },
    send(message) {
      if (!child.connected) return false;
      try {
        return child.send(message as object);
      } catch {
        return false;
      }
    },
    kill(signal = "SIGTERM") {
      child.kill(signal as NodeJS.Signals);
    },
  };
}

function spawnSelf(options: SpawnOptions): Child {
  const child = fork(process.argv[1], process.argv.slice(2), {
    env: childEnv(options),
    execArgv: process.execArgv,
    stdio: childStdio(options),
  });
  return wrapChild(child, options);
}

function spawnDaemon(options: SpawnOptions): Child {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], ...process.argv.slice(2)], {
    env: childEnv(options),
    stdio: childStdio({ ...options, stdoutFile: options.stdoutFile || "/dev/null" }),
    detached: true,
  });
  return wrapChild(child, options);
}

/** A tsx loader flag's value (`.../tsx/dist/loader.mjs`, `.../tsx/dist/preflight.cjs`): the tsx folder. */
function tsxDir(flag: string): string | null {
  const m = /^(?:file:\/\/)?(\/.*\/tsx)\/dist\/(?:loader\.mjs|preflight\.cjs)$/.exec(flag);
  return m ? m[1] : null;
}

/**
 * `node [flags] script`. A script run by tsx shows as node with tsx's loader flags, which
 * the `tsx` command adds itself: the command is then `npx tsx` (when npx finds that same tsx)
 * or node running tsx's command line.
 */
function scriptCommand(): string {
  const flags: string[] = [];
  let tsx: string | null = null;
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const dir = (argv[i] === "--require" || argv[i] === "--import") ? tsxDir(argv[i + 1] ?? "") : null;
    if (dir) {
      tsx = dir;
      i++;
    } else {
      flags.push(argv[i]);
    }
  }
  let program = [programName(process.execPath)];
  if (tsx) {
    const real = fs.realpathSync(tsx);
    program = npxPackageDir("tsx") === real
      ? ["npx", "tsx"]
      : [...program, path.join(displayPath(tsx), "dist", "cli.mjs")];
  }
  return [...program, ...flags, displayPath(path.resolve(process.argv[1] ?? ""))].map(shellWord).join(" ");
}

export const runtime: Runtime = {
  name: "node",
  version: process.versions.node,
  listen,
  connect,
  udp,
  bindShared,
  listenInherited,
  supportsReusePort,
  bindSharedUdp,
  udpInherited,
  lookup,
  spawnSelf,
  spawnDaemon,
  ...commonProcessFacts,
  rawZlib,
  gzip,
  get args() {
    return process.argv.slice(2);
  },
  get mainScript() {
    return path.resolve(process.argv[1] ?? "");
  },
  scriptCommand,
  tempDir: () => os.tmpdir(),
};
