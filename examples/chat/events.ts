/**
 * The chat's business logic, run by the BusinessWorkers (see start.ts). Browsers speak JSON:
 *
 * - `{type: "login", name, room, was}`: take a nickname and join a room (a Gateway group); the
 *   client's session keeps both, so any BusinessWorker (after a reload, or on another machine)
 *   knows who it is. `was` is the page's client id before it reconnected, if any;
 * - `{type: "say", to, content}`: to everyone in the room (`to` null) or to one client id.
 *
 * Answers: `welcome` (your id and the room's user list), `join`, `leave`, `say` (with the pid
 * of the process that handled it, so a reload can be seen) and `error`.
 *
 * When a Gateway process dies, its connections drop without `onClose` running for them, so no
 * `leave` is sent. Their pages reconnect and log in again with `was`: the room then gets the
 * `leave` for that old id, unless it is still in the room.
 */
import { type Context, Gateway } from "workerman-ts";

/** What the chat keeps in a client's session. */
interface ChatSession {
  name?: string;
  room?: string;
}

interface User {
  id: string;
  name: string;
}

const MAX_NAME = 32;
const MAX_CONTENT = 2000;

const encode = (message: Record<string, unknown>) => JSON.stringify(message);

function parse(raw: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(raw);
    return value !== null && typeof value === "object" ? value : null;
  } catch {
    return null;
  }
}

function cleanText(value: unknown, max: number): string {
  return typeof value === "string" ? value.trim().slice(0, max) : "";
}

async function roomUsers(room: string): Promise<User[]> {
  const sessions = await Gateway.getClientSessionsByGroup(room) as Record<string, ChatSession | null>;
  return Object.entries(sessions)
    .filter(([, s]) => s?.name)
    .map(([id, s]) => ({ id, name: s!.name! }));
}

async function login(clientId: string, session: ChatSession, message: Record<string, unknown>): Promise<void> {
  const name = cleanText(message.name, MAX_NAME);
  const room = cleanText(message.room, MAX_NAME);
  if (!name || !room) {
    return void Gateway.sendToClient(clientId, encode({ type: "error", message: "a nickname and a room are needed" }));
  }
  if (session.room) {
    Gateway.leaveGroup(clientId, session.room);
    Gateway.sendToGroup(session.room, encode({ type: "leave", user: { id: clientId, name: session.name } }));
  }
  session.name = name;
  session.room = room;
  const user = { id: clientId, name };
  if (typeof message.was === "string" && message.was !== clientId) {
    // null: gone; a rejection: its gateway is gone too, not yet out of the Register's list.
    const old = await Gateway.getSession(message.was).catch(() => null) as ChatSession | null;
    if (old?.room !== room) Gateway.sendToGroup(room, encode({ type: "leave", user: { id: message.was, name } }));
  }
  Gateway.joinGroup(clientId, room);
  Gateway.sendToGroup(room, encode({ type: "join", user }), clientId);
  const users = await roomUsers(room); // asked after joinGroup, so it lists this client too
  Gateway.sendToClient(clientId, encode({ type: "welcome", clientId, room, users }));
}

async function say(clientId: string, session: ChatSession, message: Record<string, unknown>): Promise<void> {
  const content = cleanText(message.content, MAX_CONTENT);
  if (!session.name || !session.room) {
    return void Gateway.sendToClient(clientId, encode({ type: "error", message: "log in first" }));
  }
  if (!content) return;
  const from = { id: clientId, name: session.name };
  const base = { type: "say", from, content, time: Date.now(), handler: process.pid };
  if (typeof message.to !== "string" || message.to === "") {
    Gateway.sendToGroup(session.room, encode({ ...base, to: null }));
    return;
  }
  const target = await Gateway.getSession(message.to) as ChatSession | null | false;
  if (!target || target.room !== session.room) {
    return void Gateway.sendToClient(clientId, encode({ type: "error", message: "no such user in this room" }));
  }
  const text = encode({ ...base, to: { id: message.to, name: target.name } });
  Gateway.sendToClient(message.to, text);
  Gateway.sendToClient(clientId, text);
}

/** The BusinessWorker's event handler (start.ts sets it as `eventHandler`). */
export const events = {
  onWorkerStart(): void {
    console.log(`ChatBusiness process ${process.pid} ready`);
  },

  async onMessage(clientId: string, raw: string, ctx: Context): Promise<void> {
    const message = parse(raw);
    const session = ctx.session as ChatSession;
    if (message?.type === "login") await login(clientId, session, message);
    else if (message?.type === "say") await say(clientId, session, message);
    else Gateway.sendToClient(clientId, encode({ type: "error", message: "not a chat message" }));
  },

  onClose(clientId: string, ctx: Context): void {
    const session = ctx.session as ChatSession;
    if (session.room) {
      Gateway.sendToGroup(session.room, encode({ type: "leave", user: { id: clientId, name: session.name } }));
    }
  },
};
