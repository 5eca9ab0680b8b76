/**
 * Property-based fuzzing of every parser (the gateway protocol included), driven through the
 * real TcpConnection framing over an in-memory socket. Shared by `test/unit/fuzz.test.ts` (a bounded run on every `npm test`) and
 * `scripts/fuzz.ts` (a long run).
 *
 * Each parser has two properties:
 * - hostile: random bytes (and mutated valid streams) split at random offsets never make the
 *   parser throw (a throw is reported through the log, which the harness watches), never leave
 *   more buffered than the configured limit, never leave a reading connection stuck, and end
 *   either in messages, a clean rejection (the connection closed by the protocol or the
 *   framework's length check), or a connection still waiting for the rest of a package;
 * - valid: a stream of random valid messages decodes to exactly those messages however it is split.
 */
import fc from "fast-check";
import { inspect, isDeepStrictEqual } from "node:util";
import { encodePackage, GatewayProtocol, type PackageFields } from "../../gateway/protocol.ts";
import { Frame, HttpProtocol, type Protocol, type Request, TcpConnection, Text, Websocket } from "../../mod.ts";
import { wsState } from "../../protocols/websocket/server.ts";
import { runtime } from "../../runtime/mod.ts";
import { FakeConn } from "./fake_conn.ts";
import { expectedPackage, packageFields } from "./gateway_arbitraries.ts";
import { frame as wsFrame, wsRequest } from "./ws_frames.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** The bytes of `parts`, one after the other. */
export function cat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Errors the framework logged (a parser that throws is reported here, never to the caller). */
const logged: string[] = [];
let capturing = false;

/** Route the log into {@link logged} instead of stderr (idempotent). */
function captureLog(): void {
  if (capturing) return;
  capturing = true;
  const original = runtime.stderr.bind(runtime);
  runtime.stderr = (text: string) => {
    if (/Error in protocol|Error in onMessage/.test(text)) logged.push(text);
    else if (!/Error package|http session save/.test(text)) original(text);
  };
}

/** Bytes the connection holds unframed (a private field, read for the limit check). */
const buffered = (conn: TcpConnection) => (conn as unknown as { _recvLength: number })._recvLength;

/** What feeding one stream produced. */
export interface Outcome {
  messages: unknown[];
  /** The connection was closed (by the protocol or the framework) before the stream ended. */
  closed: boolean;
  /** Everything the server wrote. */
  written: Uint8Array;
  /** Most bytes the connection held unframed after any read. */
  maxBuffered: number;
}

/** Split `bytes` at the given offsets (taken modulo its length, sorted, deduplicated). */
export function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1))))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    if (p > at) out.push(bytes.slice(at, p));
    at = Math.max(at, p);
  }
  if (at < bytes.length) out.push(bytes.slice(at));
  return out;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Feed `chunks` to a new connection using `protocol` as the runtime would (nothing is read
 * while the connection is paused). `answer` handles each message. Throws when the parser threw,
 * buffered past `limit`, or left an open connection paused for good.
 */
export async function drive(
  protocol: Protocol,
  chunks: Uint8Array[],
  limit: number | ((conn: TcpConnection) => number),
  answer: (conn: TcpConnection, message: unknown) => void = () => {},
  maxPackageSize = 65536,
): Promise<Outcome> {
  captureLog();
  logged.length = 0;
  const socket = new FakeConn();
  const owner = { name: "fuzz", connections: new Map<number, TcpConnection>() };
  const conn = new TcpConnection(socket, owner, protocol);
  conn.maxPackageSize = maxPackageSize;
  owner.connections.set(conn.id, conn);
  socket.start(conn);
  const messages: unknown[] = [];
  conn.onMessage = (c: TcpConnection, m: unknown) => {
    messages.push(m);
    answer(c, m);
  };
  let maxBuffered = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < 5 && socket.paused && conn.getStatus() === TcpConnection.STATUS_ESTABLISHED; i++) await tick();
    if (conn.getStatus() !== TcpConnection.STATUS_ESTABLISHED) break;
    if (socket.paused) throw new Error("an open connection stayed paused: it would never read again");
    conn.handleData(chunk);
    if (logged.length > 0) throw new Error(`the parser threw: ${logged.join("\n")}`);
    maxBuffered = Math.max(maxBuffered, buffered(conn));
    const max = typeof limit === "number" ? limit : limit(conn);
    if (conn.getStatus() === TcpConnection.STATUS_ESTABLISHED && buffered(conn) > max) {
      throw new Error(`${buffered(conn)} bytes buffered, above the limit ${max}`);
    }
  }
  await tick();
  if (logged.length > 0) throw new Error(`the parser threw: ${logged.join("\n")}`);
  const closed = conn.getStatus() !== TcpConnection.STATUS_ESTABLISHED;
  conn.destroy();
  return { messages, closed, written: cat(socket.writes), maxBuffered };
}

/** One parser under test: how to build valid streams and what they must decode to. */
export interface Target {
  name: string;
  /** The hostile property: random input must end cleanly. */
  hostile: fc.IAsyncProperty<[Uint8Array, number[]]>;
  /** The valid property: random valid messages split anywhere decode to themselves. */
  valid: fc.IAsyncProperty<[unknown, number[]]>;
}

const cuts = fc.array(fc.nat({ max: 1 << 16 }), { maxLength: 12 });
/** Random bytes, biased towards what parsers look for (CR, LF, digits, ':'). */
const noise = fc.array(
  fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(10, 13, 32, 58, 48, 57, 0x80, 0xff)),
  { maxLength: 600 },
).map((a) => new Uint8Array(a));

/** An input repeated up to 40 times: long enough to reach every limit. */
function repeated(input: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(input, fc.integer({ min: 2, max: 40 })).map(([bytes, n]) => cat(Array(n).fill(bytes)));
}

/** A valid stream with up to 8 random bytes overwritten: the input that finds the edges. */
function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })).map(
    ([bytes, edits]) => {
      const out = bytes.slice();
      for (const [at, v] of edits) if (out.length > 0) out[at % out.length] = v;
      return out;
    },
  );
}

/** The hostile property over `valid` streams: noise, mutated streams, and either repeated. */
function hostile(
  valid: fc.Arbitrary<Uint8Array>,
  run: (chunks: Uint8Array[]) => Promise<unknown>,
): fc.IAsyncProperty<[Uint8Array, number[]]> {
  const input = fc.oneof(noise, mutated(valid), repeated(fc.oneof(noise, mutated(valid))));
  return fc.asyncProperty(input, cuts, async (bytes, at) => {
    await run(split(bytes, at));
  });
}

function equalMessages(actual: unknown[], expected: unknown[]): void {
  const show = (m: unknown) => (m instanceof Uint8Array ? `bytes[${[...m].join(",")}]` : JSON.stringify(m));
  const a = actual.map(show);
  const e = expected.map(show);
  if (a.length !== e.length || a.some((x, i) => x !== e[i])) {
    throw new Error(`decoded ${a.join(" | ")}\nexpected ${e.join(" | ")}`);
  }
}

// ---- text:// ---------------------------------------------------------------------------------

const TEXT_MAX = 512;
const line = fc.string({ unit: "binary", maxLength: 80 }).map((s) => s.replace(/[\r\n]/g, ""));
const textLines = fc.array(line, { maxLength: 12 });
const textStream = (lines: string[]) => enc(lines.map((l) => `${l}\n`).join(""));
const runText = (chunks: Uint8Array[]) => drive(Text, chunks, TEXT_MAX, undefined, TEXT_MAX);

const text: Target = {
  name: "text",
  hostile: hostile(textLines.map(textStream), runText),
  valid: fc.asyncProperty(textLines, cuts, async (lines, at) => {
    const out = await runText(split(textStream(lines), at));
    // What the line's UTF-8 bytes read as (lone surrogates become U+FFFD; a leading U+FEFF stays).
    const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });
    equalMessages(out.messages, lines.map((l) => utf8.decode(enc(l)).replace(/\r+$/, "")));
  }),
};

// ---- frame:// --------------------------------------------------------------------------------

const FRAME_MAX = 1024;
const payloads = fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 });
const frameStream = (list: Uint8Array[]) => cat(list.map((p) => Frame.encode(p, {} as never) as Uint8Array));
const runFrame = (chunks: Uint8Array[]) => drive(Frame, chunks, FRAME_MAX, undefined, FRAME_MAX);

const frame: Target = {
  name: "frame",
  hostile: hostile(payloads.map(frameStream), runFrame),
  valid: fc.asyncProperty(payloads, cuts, async (list, at) => {
    const out = await runFrame(split(frameStream(list), at));
    equalMessages(out.messages.map((m) => new Uint8Array(m as Uint8Array)), list);
  }),
};

// ---- http:// ---------------------------------------------------------------------------------

const HTTP_HEAD_MAX = 2048;
const httpProtocol = new HttpProtocol({ maxHeaderSize: HTTP_HEAD_MAX, maxHeaderCount: 20, maxBodySize: 4096 });
const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
const fieldValue = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);
const RESERVED = /^(host|content-length|transfer-encoding|connection|expect|content-type|cookie)$/i;

interface HttpCase {
  method: string;
  path: string;
  headers: [string, string][];
  body: Uint8Array;
  /** Chunk sizes of a chunked body; null: Content-Length. */
  chunks: number[] | null;
}

const httpCase: fc.Arbitrary<HttpCase> = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"),
  path: fc.stringMatching(/^\/[A-Za-z0-9._~%/?=&-]{0,40}$/),
  headers: fc.array(fc.tuple(token.filter((n) => !RESERVED.test(n)), fieldValue), { maxLength: 6 }),
  body: fc.uint8Array({ maxLength: 300 }),
  chunks: fc.option(fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 })),
});

function httpRequestBytes(c: HttpCase): Uint8Array {
  let head = `${c.method} ${c.path} HTTP/1.1\r\nHost: fuzz.test\r\n`;
  for (const [k, v] of c.headers) head += `${k}: ${v}\r\n`;
  if (c.chunks === null) return cat([enc(`${head}Content-Length: ${c.body.length}\r\n\r\n`), c.body]);
  const parts = [enc(`${head}Transfer-Encoding: chunked\r\n\r\n`)];
  let at = 0;
  for (let i = 0; at < c.body.length; i++) {
    const n = Math.min(c.chunks[i % c.chunks.length], c.body.length - at);
    parts.push(enc(`${n.toString(16)}${i % 3 === 1 ? ";ext=1" : ""}\r\n`), c.body.slice(at, at + n), enc("\r\n"));
    at += n;
  }
  parts.push(enc("0\r\n\r\n"));
  return cat(parts);
}

const httpStream = fc.array(httpCase, { minLength: 1, maxLength: 4 });
const answerHttp = (conn: TcpConnection) => conn.send("ok");
const runHttp = (chunks: Uint8Array[]) => drive(httpProtocol, chunks, HTTP_HEAD_MAX, answerHttp);

/** A request as the application sees it, for comparison. */
function seen(r: Request): string {
  return JSON.stringify([r.method(), r.uri(), r.header(), [...r.rawBodyBytes()]]);
}
function expectedSeen(c: HttpCase): string {
  const headers: Record<string, string> = Object.assign(Object.create(null), { host: "fuzz.test" });
  for (const [k, v] of c.headers) {
    const key = k.toLowerCase();
    headers[key] = key in headers && key !== "host" ? `${headers[key]}, ${v}` : v;
  }
  if (c.chunks === null) headers["content-length"] = String(c.body.length);
  else headers["transfer-encoding"] = "chunked";
  return JSON.stringify([c.method, c.path, headers, [...c.body]]);
}

/** A connection the server closed got an answer: an error response (4xx/5xx) or a response that said it closes. */
function assertCleanHttp(out: Outcome): void {
  if (!out.closed) return;
  const text = new TextDecoder().decode(out.written);
  if (!/HTTP\/1\.1 [45]\d\d [A-Z]/.test(text) && !/\r\nConnection: close\r\n/i.test(text)) {
    throw new Error(`the connection closed without an answer: ${JSON.stringify(text.slice(-200))}`);
  }
}

const http: Target = {
  name: "http",
  hostile: hostile(
    httpStream.map((list) => cat(list.map(httpRequestBytes))),
    async (chunks) => assertCleanHttp(await runHttp(chunks)),
  ),
  valid: fc.asyncProperty(httpStream, cuts, async (list, at) => {
    const out = await runHttp(split(cat(list.map(httpRequestBytes)), at));
    const actual = (out.messages as Request[]).map(seen);
    const expected = list.map(expectedSeen);
    if (actual.length !== expected.length || actual.some((a, i) => a !== expected[i])) {
      throw new Error(`decoded ${actual.join("\n")}\nexpected ${expected.join("\n")}`);
    }
  }),
};

// ---- websocket:// frames -----------------------------------------------------------------------

const WS_MAX = 4096;
/** One message as frames: text or binary, maybe fragmented, maybe with a ping between fragments. */
const wsMessage = fc.record({
  binary: fc.boolean(),
  text: fc.string({ unit: "grapheme", maxLength: 60 }),
  bytes: fc.uint8Array({ maxLength: 200 }),
  pieces: fc.integer({ min: 1, max: 4 }),
  ping: fc.boolean(),
});
type WsMessage = typeof wsMessage extends fc.Arbitrary<infer T> ? T : never;

function wsFrames(m: WsMessage): Uint8Array {
  const payload = m.binary ? m.bytes : enc(m.text);
  const opcode = m.binary ? 2 : 1;
  const size = Math.ceil(payload.length / m.pieces) || 1;
  const frames: Uint8Array[] = [];
  for (let at = 0, i = 0; i === 0 || at < payload.length; at += size, i++) {
    const fin = at + size >= payload.length;
    frames.push(wsFrame((fin ? 0x80 : 0) | (i === 0 ? opcode : 0), payload.slice(at, at + size)));
    if (m.ping && !fin) frames.push(wsFrame(0x89, "p"));
  }
  return cat(frames);
}

const wsStream = fc.array(wsMessage, { maxLength: 6 });
const handshakeBytes = enc(wsRequest());
/** A handshake is limited by maxHeaderSize, a frame by maxPackageSize. */
const wsLimit = (conn: TcpConnection) => (wsState(conn).open ? WS_MAX : Websocket.options.maxHeaderSize);
const runWs = (chunks: Uint8Array[]) => drive(Websocket, chunks, wsLimit, undefined, WS_MAX);

const websocket: Target = {
  name: "websocket",
  hostile: hostile(wsStream.map((list) => cat(list.map(wsFrames))), (chunks) => runWs([handshakeBytes, ...chunks])),
  valid: fc.asyncProperty(wsStream, cuts, async (list, at) => {
    const out = await runWs(split(cat([handshakeBytes, ...list.map(wsFrames)]), at));
    equalMessages(
      out.messages.map((m) => (typeof m === "string" ? m : new Uint8Array(m as Uint8Array))),
      list.map((m) => (m.binary ? m.bytes : m.text)),
    );
  }),
};

// ---- websocket:// handshake --------------------------------------------------------------------

const handshakeHeaders = fc.dictionary(
  token.filter((n) => !/^(host|upgrade|connection|sec-websocket-.*)$/i.test(n)),
  fieldValue,
  {
    maxKeys: 6,
  },
);
const handshakeRequest = fc.tuple(handshakeHeaders, fc.stringMatching(/^\/[A-Za-z0-9/?=&]{0,30}$/)).map((
  [extra, path],
) => enc(wsRequest(extra, path)));

/** The server answered the handshake with 101, or refused it with a 4xx and closed. */
function assertHandshakeAnswer(out: Outcome, mustAccept: boolean): void {
  const text = new TextDecoder().decode(out.written);
  if (mustAccept && !text.startsWith("HTTP/1.1 101 ")) {
    throw new Error(`not accepted: ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (out.closed && !/^HTTP\/1\.1 (101|4\d\d) /.test(text)) {
    throw new Error(`closed without an answer: ${JSON.stringify(text.slice(0, 200))}`);
  }
}

const handshake: Target = {
  name: "handshake",
  hostile: hostile(handshakeRequest, async (chunks) => assertHandshakeAnswer(await runWs(chunks), false)),
  valid: fc.asyncProperty(handshakeRequest.map((b) => b as unknown), cuts, async (bytes, at) => {
    assertHandshakeAnswer(await runWs(split(bytes as Uint8Array, at)), true);
  }),
};

// ---- gateway protocol -------------------------------------------------------------------------

const GATEWAY_MAX = 2048;
/** Streams of packages as GatewayWorker peers send them, each within the package limit. */
const gatewayPackages = fc
  .array(packageFields, { minLength: 1, maxLength: 5 })
  .filter((list) => list.every((p) => encodePackage(p).length <= GATEWAY_MAX));
const gatewayStream = (list: PackageFields[]) => cat(list.map(encodePackage));
const runGateway = (chunks: Uint8Array[]) => drive(GatewayProtocol, chunks, GATEWAY_MAX, undefined, GATEWAY_MAX);

const gateway: Target = {
  name: "gateway",
  hostile: hostile(gatewayPackages.map(gatewayStream), runGateway),
  valid: fc.asyncProperty(gatewayPackages, cuts, async (list, at) => {
    const out = await runGateway(split(gatewayStream(list), at));
    const expected = list.map(expectedPackage);
    if (out.closed || !isDeepStrictEqual(out.messages, expected)) {
      throw new Error(
        `decoded ${inspect(out.messages, { depth: 6 })}${out.closed ? " and closed" : ""}\nexpected ${
          inspect(expected, { depth: 6 })
        }`,
      );
    }
  }),
};

/** Every parser, by name. */
export const TARGETS: Record<string, Target> = {
  text,
  frame,
  http,
  websocket,
  handshake,
  gateway,
};
