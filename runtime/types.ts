/**
 * The contract between the runtime-independent core and one runtime (Node, Deno or Bun).
 *
 * Everything the core needs from the outside world goes through {@link Runtime}: stream
 * sockets (TCP, TLS, unix), datagrams, child processes, signals, a few file operations
 * and process facts. `core/` and `protocols/` import only this file's types, never an
 * implementation, and never touch `Deno`, `Bun`, `process`, `Buffer` or `node:*`.
 *
 * @module
 */

/** TLS material, PEM encoded. */
export interface TlsOptions {
  /** The certificate (chain), PEM. */
  cert: string;
  /** The private key, PEM. */
  key: string;
}

/** How a stream listener binds. */
export interface ListenOptions {
  /** `tcp` and `ssl` bind host:port, `unix` binds `path`. */
  transport: "tcp" | "ssl" | "unix";
  /** The address to bind (tcp, ssl). */
  host?: string;
  /** The port to bind (tcp, ssl; 0: any free port). */
  port?: number;
  /** The socket file (unix). */
  path?: string;
  /** Required when transport is `ssl`. */
  tls?: TlsOptions;
  /** Length of the queue of connections not yet accepted. */
  backlog?: number;
  /** Bind with SO_REUSEPORT so several processes can each own a socket on one port. */
  reusePort?: boolean;
}

/** How an outgoing stream connects. */
export interface ConnectOptions {
  transport: "tcp" | "ssl" | "unix";
  host?: string;
  port?: number;
  path?: string;
  /** TLS client settings, used when transport is `ssl`. */
  tls?: {
    servername?: string;
    /** PEM CA bundle to trust instead of the system store (as Node and Bun treat `ca`). */
    ca?: string;
    /** Verify the server certificate (default true). */
    verify?: boolean;
  };
}

/**
 * Receives the events of one {@link Conn}. The core implements it once per connection
 * (a method object, not closures, to keep idle connections small).
 */
export interface ConnHandler {
  /** Bytes arrived. The array is owned by the receiver from now on. */
  handleData(chunk: Uint8Array): void;
  /**
   * Everything queued by `write` has been handed to the kernel. Fires only after a write
   * returned false (or, on Deno, a write that returned true turned out to leave a tail).
   */
  handleDrain(): void;
  /** The peer half-closed its side (EOF). The socket stays writable until `end()`/`destroy()`. */
  handleEnd(): void;
  /** The socket is closed; fires exactly once. `error` is set when an I/O error closed it. */
  handleClose(error?: Error): void;
}

/** One stream socket, the same shape on every runtime. */
export interface Conn {
  /** The peer's address. */
  readonly remoteAddress: string;
  /** The peer's port. */
  readonly remotePort: number;
  /** The local address. */
  readonly localAddress: string;
  /** The local port. */
  readonly localPort: number;
  /** Attach the handler and start reading. Called once. */
  start(handler: ConnHandler): void;
  /**
   * Write bytes or UTF-8 text. Returns true when everything was handed to the kernel,
   * false when a tail is queued in the adapter (then `handleDrain` follows once it is written).
   * Data is never dropped by the adapter.
   */
  write(data: Uint8Array | string): boolean;
  /** Bytes (or, for queued strings, UTF-16 units) queued in the adapter, not yet written. */
  readonly bufferedAmount: number;
  /** Stop reading from the socket (real back-pressure: the kernel buffer fills, the peer's TCP window closes). */
  pause(): void;
  /** Read again after `pause()`. */
  resume(): void;
  /** Flush what is queued, then send FIN. The socket closes when the peer has closed too. */
  end(): void;
  /** Close now, discarding anything queued. */
  destroy(): void;
}

/** A bound stream listener. */
export interface Listener {
  /** The address actually bound (port 0 resolved). */
  readonly host: string;
  readonly port: number;
  readonly path?: string;
  /** Stop listening; open connections are unaffected. */
  close(): void;
  /**
   * Accept again after the process ran out of descriptors (EMFILE), once it has some free.
   * Present only where the runtime's accept loop stops for good on EMFILE: Deno's node:net
   * listener on a socket inherited from the master, which is replaced by a new one on a
   * fresh copy of the master's socket. Queued connections are kept.
   */
  resumeAccepting?(): void;
}

/**
 * A listening socket the master binds for its children (`Runtime.bindShared`), or a UDP
 * socket (`Runtime.bindSharedUdp`). The master itself never accepts or reads on it; children
 * do, so a child that exits loses no queued connection or datagram and the port stays open
 * while children are replaced.
 */
export interface SharedSocket {
  /** The address bound. */
  readonly host: string;
  /** The port bound (0 resolved). */
  readonly port: number;
  /** The socket file of a unix socket. */
  readonly path?: string;
  /** Close the socket (the master does, once every process of the Worker has exited). */
  close(): void;
}

/** A datagram received on a {@link UdpSocket}. */
export interface Datagram {
  data: Uint8Array;
  address: string;
  port: number;
}

/** A bound or connected UDP socket. */
export interface UdpSocket {
  readonly host: string;
  readonly port: number;
  /** Send one datagram; returns false when the runtime refused it. */
  send(data: Uint8Array | string, port: number, address: string): boolean;
  close(): void;
}

export interface UdpOptions {
  host: string;
  port: number;
  reusePort?: boolean;
}

/** An address found by {@link Runtime.lookup}. */
export interface LookupAddress {
  address: string;
  family: 4 | 6;
}

/** A child process started by {@link Runtime.spawn} with a message channel to it. */
export interface Child {
  readonly pid: number;
  /** Send a JSON-serialisable message; false when the channel is gone. */
  send(message: unknown): boolean;
  kill(signal?: string): void;
  /** Close the message channel and stop waiting for the child (it lives on). */
  detach(): void;
}

/** The message channel of a process started by `spawnSelf`/`spawnDaemon`, seen from inside. */
export interface ParentChannel {
  send(message: unknown): boolean;
  onMessage(cb: (message: unknown) => void): void;
  /** The parent went away (it exited or closed the channel). */
  onDisconnect(cb: () => void): void;
  /** Close the channel (the daemon does this once it has reported that it is serving). */
  disconnect(): void;
}

export interface SpawnOptions {
  /** Extra environment for the child (merged over the parent's). */
  env?: Record<string, string>;
  onMessage?(message: unknown): void;
  /** Exit code, or the signal name when killed by a signal. Fires once. */
  onExit(code: number | null, signal: string | null): void;
  /** Pass stdout/stderr through to the parent's (default true). */
  inheritStdio?: boolean;
  /** Append the child's stdout/stderr to this file instead (stdin is closed). */
  stdoutFile?: string;
  /** Listening sockets for the child, which accepts on them with `listenInherited(index)`. */
  shared?: SharedSocket[];
}

/** Memory facts in bytes. */
export interface MemoryUsage {
  rss: number;
  heapUsed: number;
}

/** What {@link FileSystem.stat} tells about a path (symlinks followed). */
export interface FileStat {
  size: number;
  /** Last modification, milliseconds since the epoch. */
  mtimeMs: number;
  isFile: boolean;
  isDirectory: boolean;
}

/**
 * Synchronous file access by descriptor, for the protocols that serve and receive files
 * (HTTP static files, uploads streamed to temp files, sessions). Synchronous on purpose: a
 * read or write of one piece (at most 64 KiB) goes to the page cache, so the caller keeps its
 * ordering simple and its memory flat without a queue of pending I/O.
 */
export interface FileSystem {
  /** Facts about `path`, or null when it does not exist or cannot be reached. */
  stat(path: string): FileStat | null;
  /** The canonical absolute path (every symlink resolved), or null when it does not exist. */
  realpath(path: string): string | null;
  /** Open an existing file for reading; throws when it cannot. */
  openRead(path: string): number;
  /** Create a new file for writing (fails if it exists), readable by the owner only; throws when it cannot. */
  openWrite(path: string): number;
  /** Read up to `buffer.length` bytes at `position`; returns how many (0 at the end of the file). */
  read(fd: number, buffer: Uint8Array, position: number): number;
  /** Write all of `data` at the current position; throws on failure (disk full, ...). */
  write(fd: number, data: Uint8Array): void;
  close(fd: number): void;
  /** Create `path` and its missing parents (no error when it exists). */
  mkdir(path: string): void;
  /** The names in a directory (empty when it cannot be read). */
  readDir(path: string): string[];
  /** Rename `from` to `to`, replacing `to` (atomic on one file system). */
  rename(from: string, to: string): void;
}

/** A running watch of a directory tree, from {@link Runtime.watch}. */
export interface FileWatcher {
  close(): void;
}

/** How {@link Runtime.redis} connects. */
export interface RedisOptions {
  /** Reject a command after this many reconnect attempts while it waits (default: keep it queued). */
  maxRetriesPerRequest?: number | null;
  /** Reject a command that has no reply after this many milliseconds (default: no limit). */
  commandTimeout?: number;
}

/**
 * One connection to a Redis server (from {@link Runtime.redis}). It reconnects by itself
 * after a loss, with a growing delay of at most one second; `onReady` fires on every
 * (re)connection, and subscriptions are NOT renewed automatically (the owner knows which it
 * still wants). Commands issued while it is down wait for the next connection (up to
 * `maxRetriesPerRequest` reconnect attempts).
 */
export interface RedisConnection {
  /** True while connected and ready for commands. */
  readonly ready: boolean;
  /** Run one command, e.g. `command("SET", ["k", "v"])`; resolves with Redis's reply. */
  command(name: string, args: (string | number)[]): Promise<unknown>;
  /** Run a Lua script (sent once, then by its SHA1). */
  script(lua: string, keys: string[], args: (string | number)[]): Promise<unknown>;
  /** Subscribe this connection to pub/sub channels (it then serves only pub/sub). */
  subscribe(channels: string[]): Promise<void>;
  unsubscribe(channels: string[]): Promise<void>;
  /** A message arrived on a subscribed channel. */
  onMessage(cb: (channel: string, message: string) => void): void;
  /** Connected (first time or again). */
  onReady(cb: () => void): void;
  /** The connection was lost (`error` says why, when known); reconnecting follows. */
  onDown(cb: (error?: Error) => void): void;
  /** Close for good. */
  close(): void;
}

/**
 * A raw DEFLATE (RFC 1951) stream, compressing or inflating, that keeps its window across
 * calls (context takeover). Synchronous, so messages keep their order.
 */
export interface RawZlibStream {
  /**
   * Feed `data` and sync-flush (Z_SYNC_FLUSH): returns all output it produced (when deflating,
   * ending in 00 00 ff ff). Inflating throws a RangeError once the output would exceed
   * `maxOutput` bytes (before it is all held in memory) and an Error on corrupt input; the
   * stream is unusable after a throw.
   */
  push(data: Uint8Array, maxOutput?: number): Uint8Array;
  /** Forget the window (no context takeover). */
  reset(): void;
  /** Free the native state. */
  close(): void;
}

/** Everything the core may ask of the runtime. */
export interface Runtime {
  /** `node`, `deno` or `bun`. */
  readonly name: "node" | "deno" | "bun";
  readonly version: string;

  listen(options: ListenOptions, onConnection: (conn: Conn) => void): Promise<Listener>;
  connect(options: ConnectOptions): Promise<Conn>;
  udp(options: UdpOptions, onDatagram: (datagram: Datagram) => void): Promise<UdpSocket>;

  /**
   * Master: bind a listening socket for children to accept on (TCP, TLS-to-be, unix). The
   * master never accepts on it. Errors (EADDRINUSE, ...) reject.
   */
  bindShared(options: ListenOptions): Promise<SharedSocket>;
  /**
   * Child: accept on the `index`-th socket the parent passed in `spawnSelf({ shared })`, with
   * `options` saying how (transport `ssl` + tls for TLS). Same connections as `listen`.
   */
  listenInherited(index: number, options: ListenOptions, onConnection: (conn: Conn) => void): Promise<Listener>;
  /** True when `listen({ reusePort: true })` works on this runtime (Node 20 has no SO_REUSEPORT). */
  readonly supportsReusePort: boolean;
  /**
   * Master: bind a UDP socket for children to receive on (`udpInherited`), passed to them like
   * a listening socket (`spawnSelf({ shared })`). The master never reads from it: each datagram
   * goes to one of the children, and replies leave from the shared address.
   */
  bindSharedUdp(options: UdpOptions): Promise<SharedSocket>;
  /** Child: receive on the `index`-th socket the parent passed, a {@link Runtime.bindSharedUdp} one. */
  udpInherited(index: number, onDatagram: (datagram: Datagram) => void): Promise<UdpSocket>;
  /** Resolve a host name to one address (an IP literal comes back as it is). Rejects when nothing is found. */
  lookup(host: string): Promise<LookupAddress>;

  /** Re-execute the running script (same runtime, same flags) as a child with a message channel. */
  spawnSelf(options: SpawnOptions): Child;
  /**
   * Re-execute the running script detached: a new session, stdin closed, stdout/stderr
   * appended to `options.stdoutFile` (default /dev/null), with a message channel the daemon
   * closes once it has reported (`ParentChannel.disconnect`).
   */
  spawnDaemon(options: SpawnOptions): Child;
  /** The message channel to the parent, when this process was started by `spawnSelf`/`spawnDaemon`. */
  parentChannel(): ParentChannel | null;

  /** Install a handler for a signal (SIGINT, SIGTERM, ...). Returns a function that removes it. */
  onSignal(signal: string, handler: () => void): () => void;
  /** Send a signal; false when the process does not exist. */
  kill(pid: number, signal: string): boolean;

  /** True when a process with this pid exists. */
  isAlive(pid: number): boolean;
  /** True when running as root (uid 0). */
  isRoot(): boolean;
  /** Switch this process to `user` (and `group`, default the user's group); returns an error message or null. */
  switchUser(user: string, group?: string): string | null;
  /** True when standard output is a terminal. */
  isTTY(): boolean;

  readFile(path: string): string | null;
  /** Create `path` holding `data` only if it does not exist yet (a lock); false when it exists. */
  createExclusive(path: string, data: string): boolean;
  chmod(path: string, mode: number): void;
  writeFile(path: string, data: string): void;
  appendFile(path: string, data: string): void;
  removeFile(path: string): void;
  exists(path: string): boolean;
  tempDir(): string;
  /** File access by descriptor (static files, uploads, sessions). */
  readonly files: FileSystem;

  /**
   * Watch the directory tree at `path` (recursively); `onChange` gets the path of each file
   * created, changed, renamed or removed. Several events per save are normal: debounce.
   */
  watch(path: string, onChange: (path: string) => void): FileWatcher;
  /** Connect to Redis at `url` (`redis://[:password@]host:port[/db]`), through the `ioredis` package. */
  redis(url: string, options?: RedisOptions): RedisConnection;
  /** A raw deflate or inflate stream with a `2^windowBits` window (9..15), for WebSocket permessage-deflate. */
  rawZlib(mode: "deflate" | "inflate", windowBits: number): RawZlibStream;
  /** `data` gzip-compressed (RFC 1952) at `level` (1 fastest … 9 smallest), for HTTP responses. */
  gzip(data: Uint8Array, level: number): Uint8Array;

  /** Command-line arguments after the script path. */
  readonly args: string[];
  /** Absolute path of the main script. */
  readonly mainScript: string;
  /**
   * The shell command that runs the main script again as this process was started, to be
   * followed by a command word in the hints printed to the user: the runtime (by name when
   * PATH finds it) with its flags (`deno run -A --config=deno.json`, tsx as `npx tsx`), and
   * the script (relative to the working directory when inside it).
   */
  scriptCommand(): string;
  /**
   * Call `handler` once when the event loop has nothing left to do and the process is about
   * to exit on its own (not on `exit()` or a signal).
   */
  onBeforeExit(handler: () => void): void;
  env(name: string): string | undefined;
  pid(): number;
  ppid(): number;
  memoryUsage(): MemoryUsage;
  /**
   * This process's descriptor limit (soft RLIMIT_NOFILE) and how many descriptors are open now;
   * both Infinity/0 where the system does not tell.
   */
  descriptors(): { limit: number; open: number };
  loadAverage(): number[];
  /** Flush stdout/stderr as far as possible and exit. */
  exit(code: number): never;
  /** `parseArgs` of `node:util` (the same on every runtime), for the command line. */
  parseArgs(config: {
    args?: string[];
    options?: Record<string, { type: "boolean" | "string"; short?: string; multiple?: boolean }>;
    strict?: boolean;
    allowPositionals?: boolean;
  }): { values: Record<string, unknown>; positionals: string[] };
  /** Write to standard output / error without a trailing newline. */
  stdout(text: string): void;
  stderr(text: string): void;
}
