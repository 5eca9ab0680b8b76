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
import { fork, type ChildProcess } from "node:child_process";
import process from "node:process";
import type {
  Child,
  Conn,
  ConnectOptions,
  ConnHandler,
  Datagram,
  ListenOptions,
  Listener,
  Runtime,
  SpawnOptions,
  UdpOptions,
  UdpSocket,
} from "./types.ts";
import { commonProcessFacts } from "./_process.ts";

// Shared listeners (EventEmitter calls them with `this` = the socket): no closures per
// connection, which keeps idle connections small.
const HANDLER = Symbol("handler");
type HandledSocket = net.Socket & { [HANDLER]?: ConnHandler | null };
function onSocketData(this: HandledSocket, chunk: Uint8Array) {
  this[HANDLER]!.handleData(chunk);
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
    if (this.socket.destroyed) return false;
    this.socket.write(data);
    // libuv tries the write synchronously; a completed write has already left writableLength.
    return this.socket.writableLength === 0;
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

export async function listen(options: ListenOptions, onConnection: (conn: Conn) => void): Promise<Listener> {
  const accept = (socket: net.Socket) => onConnection(prepare(socket));
  const serverOptions = { allowHalfOpen: true, pauseOnConnect: false };
  const server: net.Server = options.transport === "ssl"
    ? tls.createServer({ ...serverOptions, cert: options.tls?.cert, key: options.tls?.key }, accept)
    : net.createServer(serverOptions, accept);
  if (options.transport === "ssl") {
    // A plain-text or broken client on a TLS port must not disturb anyone else.
    server.on("tlsClientError", (_err: Error, socket: net.Socket) => socket.destroy());
  }
  if (options.transport === "unix" && options.path && fs.existsSync(options.path)) {
    fs.unlinkSync(options.path); // a stale socket file from a previous run
  }
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
  server.on("error", (err) => console.error(`listener error: ${err.message}`));
  const address = server.address();
  return {
    host: typeof address === "object" && address ? address.address : "",
    port: typeof address === "object" && address ? address.port : 0,
    path: options.transport === "unix" ? options.path : undefined,
    close() {
      server.close();
      if (options.transport === "unix" && options.path) {
        try {
          fs.unlinkSync(options.path);
        } catch { /* already gone */ }
      }
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
        servername: options.tls?.servername ?? options.host,
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

export async function udp(options: UdpOptions, onDatagram: (d: Datagram) => void): Promise<UdpSocket> {
  const socket = dgram.createSocket({
    type: net.isIPv6(options.host) ? "udp6" : "udp4",
    reuseAddr: options.reusePort,
  });
  socket.on("message", (msg, rinfo) => onDatagram({ data: msg, address: rinfo.address, port: rinfo.port }));
  socket.on("error", (err) => console.error(`udp error: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(options.port, options.host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
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
      socket.close();
    },
  };
}

/** Wraps a forked child in the {@link Child} shape. */
export function wrapChild(child: ChildProcess, options: SpawnOptions): Child {
  if (options.onMessage) child.on("message", (m) => options.onMessage!(m));
  child.on("exit", (code, signal) => options.onExit(code, signal));
  return {
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
    env: { ...process.env, ...options.env },
    execArgv: process.execArgv,
    stdio: options.inheritStdio === false ? ["ignore", "ignore", "ignore", "ipc"] : ["inherit", "inherit", "inherit", "ipc"],
  });
  return wrapChild(child, options);
}

export const runtime: Runtime = {
  name: "node",
  version: process.versions.node,
  listen,
  connect,
  udp,
  spawnSelf,
  ...commonProcessFacts,
  get args() {
    return process.argv.slice(2);
  },
  get mainScript() {
    return path.resolve(process.argv[1] ?? "");
  },
  tempDir: () => os.tmpdir(),
};
