/**
 * The control channel between the command line and a running master: a unix socket beside
 * the pid file, readable and writable by its owner only, carrying one JSON line each way
 * (served by the framework's own TcpConnection and text protocol). It answers at once and
 * reliably, where Workerman signals the master, sleeps and reads a temp file.
 *
 * @module
 */
import type { Listener } from "../runtime/types.ts";
import { runtime } from "../runtime/mod.ts";
import type { ControlRequest } from "./ipc.ts";
import { reportError } from "./log.ts";
import { TcpConnection } from "./tcp_connection.ts";
import { Text } from "../protocols/text.ts";

/** Serve control requests on `path`; `handle` answers each. */
export async function serveControl(
  path: string,
  handle: (request: ControlRequest) => Promise<unknown>,
): Promise<Listener> {
  const listener = await runtime.listen({ transport: "unix", path }, (socket) => {
    const conn = new TcpConnection(socket, null, Text);
    conn.maxPackageSize = 65536;
    conn.onMessage = async (c: TcpConnection, line: string) => {
      let request: ControlRequest;
      try {
        request = JSON.parse(line);
      } catch {
        c.close(JSON.stringify({ ok: false, error: "the request is not JSON" }));
        return;
      }
      try {
        c.close(JSON.stringify({ ok: true, result: (await handle(request)) ?? null }));
      } catch (err) {
        reportError(`control request ${line}`, err);
        c.close(JSON.stringify({ ok: false, error: (err as Error).message }));
      }
    };
    socket.start(conn);
  });
  runtime.chmod(path, 0o600);
  return listener;
}

/** Send one request to the master at `path` and resolve with its answer. */
export async function requestControl(path: string, request: ControlRequest, timeoutMs = 10_000): Promise<unknown> {
  const socket = await runtime.connect({ transport: "unix", path });
  const conn = new TcpConnection(socket, null, Text);
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`the master did not answer "${request.cmd}" within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    conn.onMessage = (c: TcpConnection, line: string) => {
      clearTimeout(timer);
      const answer = JSON.parse(line) as { ok: boolean; result?: unknown; error?: string };
      if (answer.ok) resolve(answer.result);
      else reject(new Error(answer.error));
      c.close();
    };
    conn.onClose = () => {
      clearTimeout(timer);
      reject(new Error("the master closed the control connection without answering"));
    };
    socket.start(conn);
    conn.send(JSON.stringify(request));
  });
}
