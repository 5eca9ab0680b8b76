/**
 * The per-event context of a BusinessWorker: what PHP code reads from `$_SERVER` and
 * `$_SESSION`.
 *
 * Every event handler gets its {@link Context} as the last argument —
 * `onMessage(clientId, message, ctx)` — and may keep it across `await`s. While a handler runs
 * synchronously the same object is also returned by {@link currentClient} (which is what
 * `Gateway.sendToCurrentClient()` and friends use); after the handler's first `await` other
 * clients' events may run, so `currentClient()` is no longer this client's: use `ctx` there.
 * No AsyncLocalStorage is involved, so this works the same on Node, Deno and Bun.
 *
 * `ctx.session` is the client's session as a plain object. When the handler returns (or the
 * promise it returned settles) and the session changed, it is written back to the gateway; in
 * `onClose` changes are discarded. `Gateway.setSession()`/`updateSession()` on a client whose
 * handler is running update its `ctx.session` too. Async handlers of one client may overlap
 * (its next message can arrive during an `await`): each sees the session its event carried,
 * and the one that finishes last writes last.
 *
 * @module
 */
import type { Session } from "./session.ts";

/** `$_SERVER` of an event, as GatewayWorker fills it. */
export interface EventServer {
  /** The client's IP. */
  REMOTE_ADDR: string;
  /** The client's port. */
  REMOTE_PORT: number;
  /** The gateway's lanIp. */
  GATEWAY_ADDR: string;
  /** The gateway's client-facing port. */
  GATEWAY_PORT: number;
  /** The client's client_id. */
  GATEWAY_CLIENT_ID: string;
}

/** What a Context is made from. */
export interface ContextInit {
  clientId: string;
  clientIp: string;
  clientPort: number;
  gatewayIp: string;
  gatewayPort: number;
  gatewayInnerPort: number;
  connectionId: number;
  session: Session | null;
  sessionText: string;
}

/** What an event handler knows of its event: the client, the gateway and the session (GatewayWorker's `$_SERVER` and `$_SESSION`). */
export class Context {
  /** The client this event is about. */
  readonly clientId: string;
  /** The client's address as the gateway sees it. */
  readonly clientIp: string;
  /** The client's port as the gateway sees it. */
  readonly clientPort: number;
  /** The gateway's lanIp and public (client-facing) port. */
  readonly gatewayIp: string;
  /** The gateway's public (client-facing) port. */
  readonly gatewayPort: number;
  /** The gateway process's inner port. */
  readonly gatewayInnerPort: number;
  /** The client's connection id in its gateway process. */
  readonly connectionId: number;
  /** The client's session (an empty object when it has none); changes are written back after the handler. */
  session: Session;
  /** The serialized session the event arrived with (what "changed" is measured against). */
  readonly sessionText: string;

  /** The context of one event. */
  constructor(init: ContextInit) {
    this.clientId = init.clientId;
    this.clientIp = init.clientIp;
    this.clientPort = init.clientPort;
    this.gatewayIp = init.gatewayIp;
    this.gatewayPort = init.gatewayPort;
    this.gatewayInnerPort = init.gatewayInnerPort;
    this.connectionId = init.connectionId;
    this.session = init.session ?? {};
    this.sessionText = init.sessionText;
  }

  /** `$_SERVER` of this event. */
  get server(): EventServer {
    return {
      REMOTE_ADDR: this.clientIp,
      REMOTE_PORT: this.clientPort,
      GATEWAY_ADDR: this.gatewayIp,
      GATEWAY_PORT: this.gatewayPort,
      GATEWAY_CLIENT_ID: this.clientId,
    };
  }
}

let current: Context | null = null;
const live = new Map<string, Set<Context>>();

/** The context of the event handler running synchronously right now (null outside one). */
export function currentClient(): Context | null {
  return current;
}

/** Run `fn` with `ctx` as the current context; `ctx` stays live (see {@link liveContexts}) until `done()`. */
export function enterContext(ctx: Context, fn: () => unknown): unknown {
  let set = live.get(ctx.clientId);
  if (!set) live.set(ctx.clientId, set = new Set());
  set.add(ctx);
  const previous = current;
  current = ctx;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/** The handler of `ctx` finished. */
export function leaveContext(ctx: Context): void {
  const set = live.get(ctx.clientId);
  set?.delete(ctx);
  if (set && set.size === 0) live.delete(ctx.clientId);
}

/** Contexts of running handlers for `clientId` (their sessions follow setSession/updateSession). */
export function liveContexts(clientId: string): Iterable<Context> {
  return live.get(clientId) ?? [];
}
