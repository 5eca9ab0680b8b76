/**
 * Deno adapter: stream sockets on Deno's native `Deno.listen` / `Deno.listenTls` /
 * `Deno.connect` + `Deno.startTls` (tcp, tls, unix). What Deno offers only behind
 * `--unstable-net` (SO_REUSEPORT listeners, UDP), only through its Node layer (children
 * with an IPC channel, listening sockets passed to them) or not natively at all (TLS
 * without certificate verification) goes through the Node adapter, whose `node:*`
 * modules Deno provides.
 *
 * @module
 */
import * as fs from "node:fs";
import * as os from "node:os";
import { isIP } from "node:net";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import process from "node:process";
import type {
  Child,
  Conn,
  ConnectOptions,
  ConnHandler,
  Listener,
  ListenOptions,
  ParentChannel,
  Runtime,
  SpawnOptions,
} from "./types.ts";
import type { DenoConn as RawConn, DenoListener, DenoNamespace } from "./_deno_types.ts";
import { commonProcessFacts, displayPath, programName, shellWord } from "./_process.ts";
import { gzip, rawZlib } from "./_zlib.ts";
import { adoptAccepts } from "./_deno_uv.ts";
import {
  bindShared,
  bindSharedUdp,
  childEnv,
  childStdio,
  connect as nodeConnect,
  listen as nodeListen,
  listenInheritedResumable,
  lookup,
  udp as nodeUdp,
  udpInherited,
  wrapChild,
} from "./node.ts";

const Deno = (globalThis as { Deno?: unknown }).Deno as DenoNamespace;

/**
 * Bytes of a connection's read buffer. Small on purpose: an idle connection holds one, and
 * with Deno's per-read cost 4 KiB measured both leaner and faster than 64 KiB for small
 * messages. A read that fills its buffer doubles the next one, up to {@link MAX_READ_SIZE}
 * (a download through a proxy, an upload); one that does not goes back to this size.
 */
const READ_SIZE = 4096;
/** Largest read buffer a busy connection grows to. */
const MAX_READ_SIZE = 65536;
/** Bytes left in a read buffer worth reading into (less: a new buffer is taken). */
const MIN_READ = 1024;
/** A TLS client that has not finished its handshake by then is dropped (Node's default). */
const HANDSHAKE_TIMEOUT = 120_000;
/** Pause of the accept loop after an accept error (EMFILE, ENFILE, ENOBUFS ...). */
const ACCEPT_RETRY_MS = 100;
/**
 * Largest write reported as handed to the kernel (true) before Deno has confirmed it; see
 * {@link DenoConn}. An idle socket's send buffer takes this much unless the peer has
 * stopped reading for a while.
 */
const SURE_WRITE = 16 * 1024;

/** Started with --unstable-net (the only API that tells: `Deno.listenDatagram` exists). */
const UNSTABLE_NET = typeof Deno.listenDatagram === "function";

const encoder = new TextEncoder();

// DenoConn state bits, one number instead of eight booleans per connection.
/** The read loop is running (a read is in flight or data is being delivered). */
const READING = 1;
/** `pause()`d: the read loop issues no further read. */
const PAUSED = 2;
/** The peer's FIN arrived. */
const EOF = 4;
/** `end()` was called: no more writes, FIN follows the queue. */
const ENDING = 8;
/** Our FIN has been sent (`closeWrite` resolved). */
const FIN_SENT = 16;
/** Closed; `handleClose` has been or is being delivered. */
const CLOSED = 32;
/** The write loop is running: a write is in flight. */
const WRITING = 64;
/** A `write` returned false; `handleDrain` is owed once the queue is written. */
const OWE_DRAIN = 128;
/** No TCP_NODELAY (accepted TLS): every write waits for the end of the tick, see DenoConn. */
const GATHER = 256;

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let size = 0;
  for (let i = 0; i < chunks.length; i++) size += chunks[i].byteLength;
  const out = new Uint8Array(size);
  let offset = 0;
  for (let i = 0; i < chunks.length; i++) {
    out.set(chunks[i], offset);
    offset += chunks[i].byteLength;
  }
  return out;
}

/**
 * Wraps a `Deno.Conn` in the {@link Conn} shape.
 *
 * Reading: one async read loop with a private buffer (4 KiB, grown while reads fill it, see
 * {@link READ_SIZE}). The chunk handed to `handleData` is a view of the bytes just read, not a
 * copy: the next read goes into the rest of the buffer after it (or a new buffer once less than
 * {@link MIN_READ} is left), so a chunk is never overwritten and a read costs no copy and,
 * for small messages, no allocation most of the time. `pause()` only stops the loop from
 * issuing the next read (a read already in flight still delivers), which leaves the data
 * in the kernel: real back-pressure.
 *
 * Writing: `Deno.Conn.write` is an async op that Deno polls eagerly, inside the call: by
 * the time it returns, the kernel has taken what fits (everything unless its send buffer
 * is full), but the count is only known when the promise settles (a microtask later), and
 * the tail of a partial write is left to us. The answer of `write()` therefore is:
 * - a write of at most {@link SURE_WRITE} bytes with no write in flight goes to
 *   `Deno.Conn.write` at once (no copy, no extra tick) and returns true: nothing of ours
 *   is ahead of it and the kernel took all of it, except when the peer has stopped reading
 *   and the send buffer is full to the last few KiB. In that (rare, detected a microtask
 *   later) case the tail is kept, written first, counted in `bufferedAmount`, the next
 *   `write()` reports false, so back-pressure engages one write late, never lost, and
 *   `handleDrain` follows once the tail is written;
 * - a larger write with no write in flight also starts at once but returns false (it may
 *   well not fit), and `handleDrain` follows once Deno confirms it was written;
 * - while a write is in flight, `write()` queues the bytes (by reference) and returns
 *   false. Everything queued meanwhile is coalesced into one write when the in-flight one
 *   completes (pipelined responses cost one syscall), and `handleDrain` fires once the
 *   queue is empty.
 * Answering false for every write would be exact but turns each write into a
 * `handleDrain` (and a pause/resume round trip for a core that pauses its reader on
 * false), for nothing in the common case of small writes to a reading peer.
 * `bufferedAmount` counts what is known not to be written yet: queued bytes, large writes
 * in flight, and the tail of a partial write.
 *
 * Accepted TLS connections are the exception (`GATHER`): Deno gives no way to set
 * TCP_NODELAY on them (`Deno.TlsConn` has no `setNoDelay`, `Deno.listenTls` no option),
 * and with Nagle on, a response written as head + body (two writes, two small segments)
 * waits for the client's delayed ACK: 44 ms per request, measured. So their writes are
 * always queued (false) and everything written in one tick leaves as one write a microtask
 * later: one TLS record sequence, no stall up to 16 KiB per tick on loopback and at any
 * size at MTU 1500 (measured). Outgoing TLS is TCP + `Deno.startTls`, with TCP_NODELAY.
 */
class DenoConn implements Conn {
  conn: RawConn;
  handler: ConnHandler | null = null;
  buf: Uint8Array | null = null;
  /** Chunks written while a write was in flight, oldest first. */
  queue: Uint8Array[] | null = null;
  bufferedAmount = 0;
  flags = 0;
  constructor(conn: RawConn, gather: boolean) {
    this.conn = conn;
    if (gather) this.flags = GATHER;
  }
  get remoteAddress(): string {
    return this.conn.remoteAddr.hostname ?? "";
  }
  get remotePort(): number {
    return this.conn.remoteAddr.port ?? 0;
  }
  get localAddress(): string {
    return this.conn.localAddr.hostname ?? "";
  }
  get localPort(): number {
    return this.conn.localAddr.port ?? 0;
  }

  start(handler: ConnHandler): void {
    this.handler = handler;
    if (this.flags & CLOSED) {
      // destroyed before it was started: the handler still gets its one handleClose
      queueMicrotask(() => handler.handleClose());
      return;
    }
    this.buf = new Uint8Array(READ_SIZE);
    if ((this.flags & PAUSED) === 0) void this.readLoop();
  }

  async readLoop(): Promise<void> {
    const conn = this.conn;
    this.flags |= READING;
    try {
      while ((this.flags & (PAUSED | CLOSED | EOF)) === 0) {
        const buf = this.buf!;
        let n: number | null;
        try {
          n = await conn.read(buf);
        } catch (err) {
          // I/O error, a failed TLS handshake, or the read cancelled by our own close()
          if ((this.flags & CLOSED) === 0) this.close(asError(err), false);
          return;
        }
        if (this.flags & CLOSED) return;
        if (n === null) {
          this.flags |= EOF;
          this.handler!.handleEnd();
          if (this.flags & FIN_SENT) this.close(undefined, false);
          return;
        }
        if (n > 0) {
          this.buf = nextReadBuffer(buf, n);
          this.handler!.handleData(buf.subarray(0, n));
        }
      }
    } finally {
      this.flags &= ~READING;
    }
  }

  write(data: Uint8Array | string): boolean {
    if (this.flags & (CLOSED | ENDING)) return false;
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    if (this.flags & (WRITING | GATHER)) {
      if (this.queue === null) this.queue = [bytes];
      else this.queue.push(bytes);
      this.bufferedAmount += bytes.byteLength;
      this.flags |= OWE_DRAIN;
      if ((this.flags & WRITING) === 0) {
        this.flags |= WRITING;
        void this.writeLoop(null, true); // one write per tick, see DenoConn
      }
      return false;
    }
    if (bytes.byteLength === 0) return true;
    this.flags |= WRITING;
    if (bytes.byteLength <= SURE_WRITE) {
      void this.writeLoop(bytes, false); // the first conn.write runs (eagerly) before this returns
      return true;
    }
    this.bufferedAmount += bytes.byteLength;
    this.flags |= OWE_DRAIN;
    void this.writeLoop(bytes, true);
    return false;
  }

  /**
   * Writes `chunk` (null: start with the queue, a microtask from now), then whatever was
   * queued meanwhile, until nothing is left. `counted`: the chunk is included in
   * `bufferedAmount` (a write reported as sure is not, unless the kernel left a tail of it).
   */
  async writeLoop(chunk: Uint8Array | null, counted: boolean): Promise<void> {
    const conn = this.conn;
    try {
      if (chunk === null) {
        await undefined;
        if (this.flags & CLOSED) return;
        const queue = this.queue!;
        this.queue = null;
        chunk = queue.length === 1 ? queue[0] : concat(queue);
      }
      for (;;) {
        let n = await conn.write(chunk);
        if (this.flags & CLOSED) return;
        if (counted) this.bufferedAmount -= n;
        else if (n < chunk.byteLength) {
          // The sure write left a tail: a drain is owed for it as for a queued write (the
          // core may wait for one after onBufferFull, when no later write comes).
          this.bufferedAmount += chunk.byteLength - n;
          this.flags |= OWE_DRAIN;
        }
        while (n < chunk.byteLength) {
          chunk = chunk.subarray(n);
          n = await conn.write(chunk);
          if (this.flags & CLOSED) return;
          this.bufferedAmount -= n;
        }
        const queue = this.queue;
        if (queue === null) break;
        this.queue = null;
        chunk = queue.length === 1 ? queue[0] : concat(queue);
        counted = true;
        if (chunk.byteLength === 0) break;
      }
    } catch (err) {
      // EPIPE / ECONNRESET, or the write cancelled by our own close()
      if ((this.flags & CLOSED) === 0) this.close(asError(err), false);
      return;
    }
    this.bufferedAmount = 0;
    this.flags &= ~WRITING;
    if (this.flags & OWE_DRAIN) {
      this.flags &= ~OWE_DRAIN;
      this.handler?.handleDrain();
    }
    if ((this.flags & (ENDING | WRITING | CLOSED)) === ENDING) void this.shutdown();
  }

  pause(): void {
    this.flags |= PAUSED;
  }

  resume(): void {
    if ((this.flags & PAUSED) === 0) return;
    this.flags &= ~PAUSED;
    if ((this.flags & (READING | CLOSED | EOF)) === 0 && this.handler !== null) void this.readLoop();
  }

  end(): void {
    if (this.flags & (ENDING | CLOSED)) return;
    this.flags |= ENDING;
    if ((this.flags & WRITING) === 0) void this.shutdown(); // else the write loop calls it when done
  }

  /** Send FIN; close once the peer's FIN is in too. */
  async shutdown(): Promise<void> {
    try {
      await this.conn.closeWrite();
    } catch (err) {
      if ((this.flags & CLOSED) === 0) this.close(asError(err), false);
      return;
    }
    this.flags |= FIN_SENT;
    if ((this.flags & (EOF | CLOSED)) === EOF) this.close(undefined, false);
  }

  destroy(): void {
    // handleClose is deferred here so that it never runs inside the caller's destroy()
    this.close(undefined, true);
  }

  close(error: Error | undefined, deferred: boolean): void {
    if (this.flags & CLOSED) return;
    this.flags |= CLOSED;
    this.queue = null;
    this.bufferedAmount = 0;
    this.buf = null;
    try {
      this.conn.close(); // cancels a pending read/write: they reject, see the CLOSED checks
    } catch { /* BadResource: already closed */ }
    const handler = this.handler;
    if (handler === null) return; // start() will report it
    if (deferred) queueMicrotask(() => handler.handleClose(error));
    else handler.handleClose(error);
  }
}

/**
 * Where the read after `n` bytes were read into `buf` goes: the rest of `buf`, or a new buffer
 * twice the size when `buf` was filled (more is probably waiting), or a new {@link READ_SIZE}
 * one when the rest is too small or the left-over of a large buffer.
 */
function nextReadBuffer(buf: Uint8Array, n: number): Uint8Array {
  if (n === buf.length) return new Uint8Array(Math.min(Math.max(buf.length * 2, READ_SIZE), MAX_READ_SIZE));
  const rest = buf.length - n;
  return rest >= MIN_READ && rest <= READ_SIZE ? buf.subarray(n) : new Uint8Array(READ_SIZE);
}

function isListenerGone(err: unknown): boolean {
  return err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted;
}

function deliver(raw: RawConn, gather: boolean, onConnection: (conn: Conn) => void): void {
  if (raw.setNoDelay) {
    try {
      raw.setNoDelay(true);
    } catch { /* not a TCP socket after all, or already reset */ }
  }
  const conn = new DenoConn(raw, gather);
  try {
    onConnection(conn);
  } catch (err) {
    console.error(`connection handler error: ${asError(err).stack ?? err}`);
    conn.destroy();
  }
}

/** Completes the TLS handshake before the core ever sees the connection, as Node's TLS server does. */
async function handshakeThenDeliver(raw: RawConn, onConnection: (conn: Conn) => void): Promise<void> {
  const timer = setTimeout(() => {
    try {
      raw.close();
    } catch { /* gone */ }
  }, HANDSHAKE_TIMEOUT);
  Deno.unrefTimer(timer);
  try {
    await raw.handshake!();
  } catch {
    // plain text on a TLS port, a bad client certificate, a timeout: drop this one only
    clearTimeout(timer);
    try {
      raw.close();
    } catch { /* gone */ }
    return;
  }
  clearTimeout(timer);
  deliver(raw, true, onConnection);
}

async function acceptLoop(
  listener: DenoListener,
  isTls: boolean,
  onConnection: (conn: Conn) => void,
  state: { closed: boolean },
): Promise<void> {
  for (;;) {
    let raw: RawConn;
    try {
      raw = await listener.accept();
    } catch (err) {
      if (state.closed || isListenerGone(err)) return;
      // EMFILE and friends: the listener is fine, the process is out of something for now
      console.error(`accept error: ${asError(err).message}`);
      await new Promise((resolve) => setTimeout(resolve, ACCEPT_RETRY_MS));
      if (state.closed) return;
      continue;
    }
    if (isTls) void handshakeThenDeliver(raw, onConnection);
    else deliver(raw, false, onConnection);
  }
}

function removeStaleSocket(path: string): void {
  try {
    if (fs.lstatSync(path).isSocket()) fs.unlinkSync(path);
  } catch { /* does not exist */ }
}

async function listen(options: ListenOptions, onConnection: (conn: Conn) => void): Promise<Listener> {
  // Deno.listen({ reusePort }) needs --unstable-net and exits the process without it;
  // node:net has SO_REUSEPORT regardless.
  const reusePort = options.reusePort === true && options.transport !== "unix";
  if (reusePort && !UNSTABLE_NET) return nodeListen(options, onConnection);
  let listener: DenoListener;
  if (options.transport === "unix") {
    if (!options.path) throw new Error("unix listen needs a path");
    removeStaleSocket(options.path);
    listener = Deno.listen({ transport: "unix", path: options.path });
  } else if (options.transport === "ssl") {
    if (!options.tls) throw new Error("ssl listen needs tls.cert and tls.key");
    listener = Deno.listenTls({
      hostname: options.host,
      port: options.port ?? 0,
      tcpBacklog: options.backlog,
      reusePort,
      cert: options.tls.cert,
      key: options.tls.key,
    });
  } else {
    listener = Deno.listen({ hostname: options.host, port: options.port ?? 0, tcpBacklog: options.backlog, reusePort });
  }
  const state = { closed: false };
  void acceptLoop(listener, options.transport === "ssl", onConnection, state);
  const addr = listener.addr;
  const path = options.transport === "unix" ? options.path : undefined;
  return {
    host: addr.hostname ?? "",
    port: addr.port ?? 0,
    path,
    close() {
      if (state.closed) return;
      state.closed = true;
      try {
        listener.close();
      } catch { /* already closed */ }
      if (path) removeStaleSocket(path);
    },
  };
}

async function connect(options: ConnectOptions): Promise<Conn> {
  if (options.transport === "unix") {
    return new DenoConn(await Deno.connect({ transport: "unix", path: options.path! }), false);
  }
  const t = options.transport === "ssl" ? options.tls ?? {} : null;
  if (t !== null && (t.verify === false || t.ca)) {
    // Deno's TLS can neither skip verification nor trust `ca` *instead of* the system store
    // (its caCerts come in addition); node:tls does both, as the contract wants. No SNI
    // for an IP address (RFC 6066): Deno's node:tls throws on an IP servername, Node warns.
    if (t.servername === undefined && isIP(options.host ?? "")) options = { ...options, tls: { ...t, servername: "" } };
    return nodeConnect(options);
  }
  let raw = await Deno.connect({ hostname: options.host, port: options.port! });
  try {
    raw.setNoDelay!(true);
  } catch { /* reset already */ }
  if (t !== null) {
    // TCP first, then TLS on top: unlike Deno.connectTls this keeps TCP_NODELAY, and the
    // name checked and sent as SNI can differ from the host connected to.
    try {
      raw = await Deno.startTls(raw, { hostname: t.servername ?? options.host });
      await raw.handshake!(); // certificate errors reject connect(), as on Node
    } catch (err) {
      try {
        raw.close();
      } catch { /* gone */ }
      throw err;
    }
  }
  return new DenoConn(raw, false);
}

/** The running script as `deno run` takes it: a path for local files, else the URL. */
function mainScriptPath(): string {
  const main = Deno.mainModule;
  return main.startsWith("file:") ? fileURLToPath(main) : main;
}

/** Flags a child must not inherit: a second inspector on the same port, a second watcher. */
const UNINHERITED_FLAG = /^--(inspect|watch|hmr|no-clear-screen)/;

let cachedFlags: string[] | null | undefined;

/**
 * The `deno run` flags of this process (permissions, `--unstable-*`, `--config`, `--v8-flags`
 * ...), read from /proc/self/cmdline: Deno has no API for them (`process.execArgv` is empty).
 * Null when they cannot be known (no /proc, reading it needs --allow-all, or a command
 * line that is not `deno [run] [flags] script [args]`, like `deno task` or `deno compile`).
 */
function denoRunFlags(): string[] | null {
  if (cachedFlags !== undefined) return cachedFlags;
  cachedFlags = null;
  try {
    // Without the permission Deno would prompt on a terminal; with only --allow-read it
    // throws NotCapable (reading /proc/self needs --allow-all), which is fine.
    if (Deno.permissions.querySync({ name: "read", path: "/proc/self/cmdline" }).state !== "granted") return null;
    const argv = fs.readFileSync("/proc/self/cmdline", "utf8").split("\0");
    if (argv[argv.length - 1] === "") argv.pop();
    const scriptIndex = argv.length - 1 - Deno.args.length;
    const start = argv[1] === "run" ? 2 : 1;
    const script = argv[scriptIndex];
    if (scriptIndex < start || script === undefined) return null;
    const main = mainScriptPath();
    if (script !== Deno.mainModule && fs.realpathSync(script) !== fs.realpathSync(main)) return null;
    cachedFlags = argv.slice(start, scriptIndex).filter((flag) => !UNINHERITED_FLAG.test(flag));
  } catch { /* not Linux, or not allowed to read /proc */ }
  return cachedFlags;
}

/**
 * `deno run <flags> <script> <args>` as this process was started. Without known flags it is
 * `-A`, which is also what Deno's own `fork()` passes: hardly an escalation, as spawning at
 * all needs --allow-run, and whatever it runs is not sandboxed anyway.
 */
function selfCommand(extra: string[] = []): string[] {
  const flags = denoRunFlags() ?? ["-A"];
  return ["run", ...flags, ...extra.filter((flag) => !flags.includes(flag)), mainScriptPath(), ...Deno.args];
}

/**
 * Flags a worker process gets beyond the master's: with --unstable-net a `reusePort` Worker gets
 * a native Deno.listen socket (Deno's own accept and read path) without the user having to know
 * the flag. It changes nothing else here: UDP stays on node:dgram, shared sockets on the handle
 * path. Not for a daemon's master, whose command line is the one its hints print.
 */
const WORKER_FLAGS = ["--unstable-net"];

/** `deno run <flags> <script>` as this process was started (`-A` when its flags are unknown). */
function scriptCommand(): string {
  const main = mainScriptPath();
  const script = main.startsWith("/") ? displayPath(main) : main;
  return [programName(Deno.execPath()), "run", ...(denoRunFlags() ?? ["-A"]), script].map(shellWord).join(" ");
}

// Children through node:child_process: only its `ipc` stdio gives Deno a message channel
// (and passes shared listening sockets, see node.ts).
function spawnSelf(options: SpawnOptions): Child {
  const child = spawn(Deno.execPath(), selfCommand(WORKER_FLAGS), {
    env: childEnv(options),
    stdio: childStdio(options),
  });
  return wrapChild(child, options);
}

function spawnDaemon(options: SpawnOptions): Child {
  const child = spawn(Deno.execPath(), selfCommand(), {
    env: childEnv(options),
    stdio: childStdio({ ...options, stdoutFile: options.stdoutFile || "/dev/null" }),
    detached: true,
  });
  return wrapChild(child, options);
}

// Deno's process.disconnect() drops messages still on their way out (Node flushes them
// first), and "report, then disconnect" is exactly what a daemon does: wait for the sends.
let pendingSends = 0;
let disconnectWanted = false;

function sendSettled(): void {
  if (--pendingSends === 0 && disconnectWanted) {
    disconnectWanted = false;
    if (process.connected) process.disconnect();
  }
}

function parentChannel(): ParentChannel | null {
  const channel = commonProcessFacts.parentChannel();
  if (channel === null) return null;
  return {
    send(message) {
      if (!process.connected || disconnectWanted) return false;
      pendingSends++;
      try {
        return process.send!(message as object, undefined, undefined, sendSettled);
      } catch {
        sendSettled();
        return false;
      }
    },
    onMessage: channel.onMessage,
    onDisconnect: channel.onDisconnect,
    disconnect() {
      if (pendingSends === 0) channel.disconnect();
      else disconnectWanted = true;
    },
  };
}

export const runtime: Runtime = {
  name: "deno",
  version: Deno.version.deno,
  listen,
  connect,
  // Deno.listenDatagram needs --unstable-net; node:dgram does not.
  udp(options, onDatagram) {
    if (options.reusePort) {
      // Deno's UDP sockets set SO_REUSEADDR, never SO_REUSEPORT (checked on 2.9.6): on Linux the
      // last process to bind would get every datagram. Sharing the master's socket works.
      return Promise.reject(
        new Error(
          "reusePort on a UDP worker needs SO_REUSEPORT, which Deno's UDP sockets do not set; " +
            'remove "reusePort = true": the processes then share the master\'s socket',
        ),
      );
    }
    return nodeUdp(options, onDatagram);
  },
  // Deno cannot listen on an inherited socket natively: a master's shared socket is bound,
  // passed and accepted on through node:net (measured here: 4.9 KB per idle connection
  // against 10.4 KB native, and the same CPU per message).
  bindShared,
  // Deno's node:net listener stops accepting for good once an accept fails with EMFILE
  // (checked on 2.9.6: no error event, no further accept4): it can be replaced after one.
  // Its TCP connections skip net.Socket (runtime/_deno_uv.ts).
  listenInherited: (index, options, onConnection) =>
    listenInheritedResumable(index, options, onConnection, adoptAccepts),
  supportsReusePort: true, // through node:net, see listen()
  // A shared UDP socket is a node:dgram one passed over the fork channel, as on Node. Deno's
  // node:dgram keeps one receive in flight after the master stops reading (checked on 2.9.6),
  // which would swallow the first client datagram: bindSharedUdp satisfies it with its own.
  bindSharedUdp: (options) => bindSharedUdp(options, true),
  udpInherited,
  lookup,
  spawnSelf,
  spawnDaemon,
  ...commonProcessFacts,
  rawZlib,
  gzip,
  parentChannel,
  onSignal(signal, handler) {
    // SIGUSR1 makes Deno open its inspector on 127.0.0.1:9229 whatever listener is installed
    // (checked on 2.9.6), so it is never offered as a control signal here.
    if (signal === "SIGUSR1") return () => {};
    Deno.addSignalListener(signal, handler);
    return () => {
      try {
        Deno.removeSignalListener(signal, handler);
      } catch { /* not installed */ }
    };
  },
  get args() {
    return Deno.args;
  },
  get mainScript() {
    return mainScriptPath();
  },
  scriptCommand,
  tempDir: () => os.tmpdir(),
};
