/** A plain TCP client for end-to-end tests: connect, write, read until something arrives. */
import { Socket } from "node:net";

export class TestClient {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  closed = false;
  private waiters = new Set<() => void>();

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    socket.on("error", () => {});
  }

  private wake() {
    for (const w of this.waiters) w();
  }

  static connect(port: number, host = "127.0.0.1"): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      socket.once("error", reject);
      socket.connect(port, host, () => {
        socket.off("error", reject);
        resolve(new TestClient(socket));
      });
    });
  }

  write(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  get text(): string {
    return this.received.toString();
  }

  /** Resolves once `predicate` holds (checked on every arrival and on close). */
  until(predicate: (c: TestClient) => boolean, what = "condition", timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this)) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.text.slice(0, 500))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Wait until the received text contains `needle`. */
  untilText(needle: string, timeoutMs?: number): Promise<void> {
    return this.until((c) => c.text.includes(needle), JSON.stringify(needle), timeoutMs);
  }

  /** Wait until at least `n` bytes have arrived. */
  untilBytes(n: number, timeoutMs?: number): Promise<void> {
    return this.until((c) => c.received.length >= n, `${n} bytes`, timeoutMs);
  }

  untilClosed(timeoutMs?: number): Promise<void> {
    return this.until((c) => c.closed, "close", timeoutMs);
  }

  /** Send one line and wait until `expected` has arrived. */
  async request(line: string, expected: string): Promise<void> {
    this.write(line);
    await this.untilText(expected);
  }

  close(): void {
    this.socket.destroy();
  }
}
