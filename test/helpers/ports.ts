/**
 * Free TCP ports for servers that must be told their port in advance (a Register address
 * that other processes dial, a page that names its WebSocket port): the kernel picks them
 * (listen on 0, all held at once so they differ) and they are released just before use.
 */
import { createServer, type Server } from "node:net";

/** `count` distinct ports that were free a moment ago. */
export async function freePorts(count: number): Promise<number[]> {
  const held = await Promise.all(Array.from({ length: count }, () =>
    new Promise<Server>((resolve, reject) => {
      const srv = createServer();
      srv.once("error", reject);
      srv.listen(0, "0.0.0.0", () => resolve(srv));
    })));
  const ports = held.map((s) => (s.address() as { port: number }).port);
  await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** One port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0];
}
