/**
 * Queries waiting for a gateway's answers, which come back in the order the queries were
 * written on a connection: on a push client's link to a gateway, and on a BusinessWorker's own
 * connection to one, where the answers arrive between the gateway's events.
 *
 * @module
 */
import { unserializePhp } from "./php_serialize.ts";
import { NO_MESSAGE, type Protocol } from "../core/protocol.ts";
import type { TcpConnection } from "../core/tcp_connection.ts";
import { answerLength, GatewayProtocol } from "./protocol.ts";

/** Milliseconds a query may take before it fails (and its connection is reset). */
export const QUERY_TIMEOUT_MS = 5000;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** The queries written on one connection and not answered yet, oldest first. */
export class PendingAnswers {
  /** Called when a query times out: the connection must be reset, or its late answer would be taken for the next query's. */
  onTimeout: (() => void) | null = null;
  private readonly _address: string;
  private readonly _queue: Pending[] = [];

  /** `address`: the gateway's, for error messages. */
  constructor(address: string) {
    this._address = address;
  }

  /** How many answers are due. */
  get size(): number {
    return this._queue.length;
  }

  /** The answer to the query about to be written. */
  expect(timeoutMs = QUERY_TIMEOUT_MS): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._queue.splice(this._queue.findIndex((p) => p.timer === timer), 1);
        reject(new Error(`gateway ${this._address} did not answer within ${timeoutMs} ms`));
        this.onTimeout?.();
      }, timeoutMs);
      this._queue.push({ resolve, reject, timer });
    });
  }

  /** Write the query `packet` on `conn` and resolve with its answer (rejected when it cannot be written). */
  query(conn: TcpConnection, packet: Uint8Array, timeoutMs = QUERY_TIMEOUT_MS): Promise<unknown> {
    const answer = this.expect(timeoutMs);
    if (conn.send(packet) === false) {
      const p = this._queue.pop()!;
      clearTimeout(p.timer);
      p.reject(new Error(`cannot send to gateway ${this._address}: connection closing or send buffer full`));
    }
    return answer;
  }

  /** The next answer arrived. */
  answer(value: unknown): void {
    const p = this._queue.shift();
    if (!p) return;
    clearTimeout(p.timer);
    p.resolve(value);
  }

  /** The connection closed: every query waiting fails with `error`. */
  failAll(error: Error): void {
    for (const p of this._queue.splice(0)) {
      clearTimeout(p.timer);
      p.reject(error);
    }
  }
}

/**
 * GatewayProtocol for a BusinessWorker's connection to a gateway, which also carries the
 * answers to the queries `answers` waits for: each goes to its query and `onMessage` gets only
 * the packages. One protocol object per connection (it remembers what it framed last).
 */
export function eventsAndAnswers(answers: PendingAnswers): Protocol {
  let isAnswer = false;
  return {
    input(buffer, conn) {
      if (answers.size > 0) {
        const length = answerLength(buffer);
        isAnswer = length !== -1;
        if (isAnswer) return length;
      }
      return GatewayProtocol.input(buffer, conn);
    },
    decode(buffer, conn) {
      if (!isAnswer) return GatewayProtocol.decode(buffer, conn);
      isAnswer = false;
      answers.answer(unserializePhp(buffer.subarray(4)));
      return NO_MESSAGE;
    },
    encode: GatewayProtocol.encode,
  };
}
