/**
 * permessage-deflate (RFC 7692): negotiation of `Sec-WebSocket-Extensions` and the per-message
 * compression both sides share once it is agreed.
 *
 * A compressed message has RSV1 on its first frame; its payload (all fragments joined) is raw
 * DEFLATE ending in a sync flush whose last 4 bytes `00 00 ff ff` are left off on the wire.
 * With context takeover (the default) each side keeps its compressor's window across messages;
 * `*_no_context_takeover` makes that side start every message from an empty window.
 * Compression goes through `runtime.rawZlib`, synchronously, so messages keep their order.
 *
 * | parameter                    | offered by        | meaning here                                   |
 * | ---------------------------- | ----------------- | ---------------------------------------------- |
 * | `server_no_context_takeover` | client or server  | the server resets its compressor per message   |
 * | `client_no_context_takeover` | client or server  | the client resets its compressor per message   |
 * | `server_max_window_bits=N`   | client            | the server compresses with a 2^N window (9..15) |
 * | `client_max_window_bits[=N]` | client            | the client may be told to use a smaller window |
 *
 * zlib cannot compress with a 256-byte window (it silently uses 512), so an offer that requires
 * `server_max_window_bits=8` is declined, and a client told `client_max_window_bits=8` fails.
 *
 * @module
 */
import { concatAll } from "../../core/bytes.ts";
import { runtime } from "../../runtime/mod.ts";
import type { RawZlibStream } from "../../runtime/mod.ts";

/** The 4 bytes every sync-flushed deflate block ends with, left off on the wire. */
const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
const EMPTY_BLOCK = new Uint8Array([0x00]);

/** One extension of a `Sec-WebSocket-Extensions` header: its name and parameters (`true` when valueless). */
export interface ExtensionOffer {
  name: string;
  params: Map<string, string | true>;
  /** A parameter appeared twice. */
  duplicate: boolean;
}

/** Parse a `Sec-WebSocket-Extensions` header (RFC 6455 §9.1) into its offers, in order. */
export function parseExtensions(header: string): ExtensionOffer[] {
  const offers: ExtensionOffer[] = [];
  for (const item of header.split(",")) {
    const parts = item.split(";").map((p) => p.trim());
    if (!parts[0]) continue;
    const offer: ExtensionOffer = { name: parts[0].toLowerCase(), params: new Map(), duplicate: false };
    for (const p of parts.slice(1)) {
      if (!p) continue;
      const eq = p.indexOf("=");
      const key = (eq === -1 ? p : p.slice(0, eq)).trim().toLowerCase();
      const value = eq === -1 ? true : p.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
      if (offer.params.has(key)) offer.duplicate = true;
      offer.params.set(key, value);
    }
    offers.push(offer);
  }
  return offers;
}

/** What one side uses once permessage-deflate is agreed. */
export interface DeflateParams {
  /** This side resets its compressor after every message. */
  sendNoContextTakeover: boolean;
  /** The peer resets its compressor after every message (this side's inflater may too). */
  receiveNoContextTakeover: boolean;
  /** Window bits of this side's compressor (9..15). */
  sendWindowBits: number;
}

function windowBits(value: string | true | undefined, allowed: number): number | null {
  if (value === undefined) return 15;
  if (value === true || !/^\d{1,2}$/.test(value)) return null;
  const n = Number(value);
  return n >= allowed && n <= 15 ? n : null;
}

/**
 * Server side: the first permessage-deflate offer in `header` that can be accepted, as the
 * parameters to use and the `Sec-WebSocket-Extensions` answer; null when there is none.
 * `serverNoContextTakeover` forces the server to reset its compressor per message.
 */
export function acceptOffer(
  header: string,
  serverNoContextTakeover = false,
): { params: DeflateParams; response: string } | null {
  for (const offer of parseExtensions(header)) {
    if (offer.name !== "permessage-deflate" || offer.duplicate) continue;
    const p = offer.params;
    const known = [
      "server_no_context_takeover",
      "client_no_context_takeover",
      "server_max_window_bits",
      "client_max_window_bits",
    ];
    if ([...p.keys()].some((k) => !known.includes(k))) continue;
    if (p.has("server_no_context_takeover") && p.get("server_no_context_takeover") !== true) continue;
    if (p.has("client_no_context_takeover") && p.get("client_no_context_takeover") !== true) continue;
    const serverBits = windowBits(p.get("server_max_window_bits"), 9);
    if (serverBits === null) continue;
    const clientBits = p.get("client_max_window_bits");
    if (clientBits !== undefined && clientBits !== true && windowBits(clientBits, 8) === null) continue;
    const params: DeflateParams = {
      sendNoContextTakeover: serverNoContextTakeover || p.has("server_no_context_takeover"),
      receiveNoContextTakeover: p.has("client_no_context_takeover"),
      sendWindowBits: serverBits,
    };
    let response = "permessage-deflate";
    if (params.sendNoContextTakeover) response += "; server_no_context_takeover";
    if (params.receiveNoContextTakeover) response += "; client_no_context_takeover";
    if (p.has("server_max_window_bits")) response += `; server_max_window_bits=${serverBits}`;
    return { params, response };
  }
  return null;
}

/** Client side: the offer this client sends (any window the server asks for, context takeover on). */
export const CLIENT_OFFER = "permessage-deflate; client_max_window_bits";

/**
 * Client side: the parameters from the server's `Sec-WebSocket-Extensions` answer, null when
 * it accepted no extension, or an error message when the answer is not one this client offered.
 */
export function acceptResponse(header: string | undefined): DeflateParams | null | string {
  if (header === undefined || header.trim() === "") return null;
  const offers = parseExtensions(header);
  if (offers.length !== 1 || offers[0].name !== "permessage-deflate") return `unexpected extensions "${header}"`;
  const p = offers[0].params;
  if (offers[0].duplicate) return `duplicate parameter in "${header}"`;
  for (const [key, value] of p) {
    if (key === "server_no_context_takeover" || key === "client_no_context_takeover") {
      if (value !== true) return `${key} takes no value`;
    } else if (key === "server_max_window_bits") {
      if (windowBits(value, 8) === null) return `bad ${key} "${value}"`;
    } else if (key === "client_max_window_bits") {
      if (windowBits(value, 9) === null) return `unsupported ${key} "${value}"`;
    } else {
      return `unknown permessage-deflate parameter ${key}`;
    }
  }
  return {
    sendNoContextTakeover: p.has("client_no_context_takeover"),
    receiveNoContextTakeover: p.has("server_no_context_takeover"),
    sendWindowBits: windowBits(p.get("client_max_window_bits"), 9) ?? 15,
  };
}

/**
 * The compression state of one connection. The zlib streams are created on first use, so a
 * connection that only exchanges small messages holds none.
 */
export class PerMessageDeflate {
  readonly params: DeflateParams;
  #deflater: RawZlibStream | null = null;
  #inflater: RawZlibStream | null = null;

  constructor(params: DeflateParams) {
    this.params = params;
  }

  /** The compressed payload of one message (the sync-flush tail removed). */
  compress(data: Uint8Array): Uint8Array {
    const deflater = this.#deflater ??= runtime.rawZlib("deflate", this.params.sendWindowBits);
    const out = deflater.push(data);
    if (this.params.sendNoContextTakeover) deflater.reset();
    const end = out.length - (endsWithTail(out) ? 4 : 0);
    return end === 0 ? EMPTY_BLOCK : out.subarray(0, end);
  }

  /**
   * The inflated payload of one message from its compressed fragments. Throws a RangeError
   * once it would exceed `maxOutput` bytes, an Error when the data is not valid deflate.
   */
  decompress(parts: Uint8Array[], maxOutput: number): Uint8Array {
    const inflater = this.#inflater ??= runtime.rawZlib("inflate", 15);
    const outputs: Uint8Array[] = [];
    let total = 0;
    for (const part of [...parts, TAIL]) {
      const out = inflater.push(part, maxOutput - total);
      total += out.length;
      if (out.length > 0) outputs.push(out);
    }
    if (this.params.receiveNoContextTakeover) inflater.reset();
    return concatAll(outputs, total);
  }

  /** Free the zlib streams. */
  close(): void {
    this.#deflater?.close();
    this.#inflater?.close();
    this.#deflater = this.#inflater = null;
  }
}

function endsWithTail(out: Uint8Array): boolean {
  const n = out.length;
  return n >= 4 && out[n - 4] === 0 && out[n - 3] === 0 && out[n - 2] === 0xff && out[n - 1] === 0xff;
}
