/**
 * Free TCP ports for servers that must be told their port in advance (a Register address
 * that other processes dial, a Gateway's consecutive inner ports, a page that names its
 * WebSocket port): the kernel picks them (listen on 0) and they are released just before use.
 */
import { createServer, type Server } from "node:net";

function listen(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(null));
    srv.listen(port, "0.0.0.0", () => resolve(srv));
  });
}

const close = (servers: Server[]) => Promise.all(servers.map((s) => new Promise((r) => s.close(r))));

/** `length` consecutive free ports (as Gateway's `startPort + id` needs); returns the first. */
export async function freePortRun(length = 1): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await listen(0);
    if (first === null) continue;
    const start = (first.address() as { port: number }).port;
    const held = [first];
    while (held.length < length && start + held.length < 65536) {
      const next = await listen(start + held.length);
      if (next === null) break;
      held.push(next);
    }
    await close(held);
    if (held.length === length) return start;
  }
  throw new Error(`no run of ${length} free ports found`);
}

/** `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const held: Server[] = [];
  while (held.length < count) {
    const srv = await listen(0);
    if (srv !== null) held.push(srv);
  }
  const ports = held.map((s) => (s.address() as { port: number }).port);
  await close(held);
  return ports;
}
