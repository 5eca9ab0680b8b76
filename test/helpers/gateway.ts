/** Helpers for the Gateway tests: a JSON-line client of the test cluster. */
import { TestClient } from "./client.ts";

/**
 * A text-protocol client of `test/fixtures/gateway.ts`: it is greeted with `hello <client_id>`
 * and calls `Gateway.*` through the BusinessWorkers with `{"id","fn","args"}` lines.
 */
export class GatewayLineClient {
  readonly tc: TestClient;
  clientId = "";
  private nextId = 1;

  private constructor(tc: TestClient) {
    this.tc = tc;
  }

  static async connect(port: number): Promise<GatewayLineClient> {
    const c = new GatewayLineClient(await TestClient.connect(port));
    await c.tc.until((t) => /hello ([0-9a-f]{20})\n/.test(t.text), "the greeting");
    c.clientId = /hello ([0-9a-f]{20})\n/.exec(c.tc.text)![1];
    return c;
  }

  /** Every complete line received so far. */
  lines(): string[] {
    const text = this.tc.text;
    return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").slice(0, -1);
  }

  /** Wait for a line equal to `line`. */
  untilLine(line: string, timeoutMs?: number): Promise<void> {
    return this.tc.until(() => this.lines().includes(line), JSON.stringify(line), timeoutMs);
  }

  /** Call `Gateway.<fn>(...args)` in the BusinessWorker handling this client; resolves with the result. */
  async call(fn: string, ...args: unknown[]): Promise<unknown> {
    const id = this.nextId++;
    this.tc.write(JSON.stringify({ id, fn, args }) + "\n");
    let reply: { id?: number; result?: unknown; error?: string } | undefined;
    const find = () => {
      for (const line of this.lines()) {
        if (!line.startsWith("{")) continue;
        const parsed = JSON.parse(line);
        if (parsed.id === id) return (reply = parsed), true;
      }
      return false;
    };
    await this.tc.until(find, `the answer to ${fn} #${id}`);
    if (reply!.error !== undefined) throw new Error(reply!.error);
    return reply!.result;
  }

  get closed(): boolean {
    return this.tc.closed;
  }

  close(): void {
    this.tc.close();
  }
}
