// Gateway across machines: three hosts built from network namespaces on one bridge. Host A runs
// the Register and a Gateway (count 2), hosts B and C run BusinessWorkers (count 2 each) that
// find the gateways through the Register's address on A. Clients connect from the root
// namespace. SIGKILL of host B's whole start script loses no client: every client stays
// connected, keeps its session (held by the gateway), and its next lines are handled on C.
// Skipped with the reason where namespaces cannot be made (not root, no iproute2).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "../helpers/client.ts";
import { createHosts, netnsUnavailable, type Network } from "../helpers/netns.ts";
import { type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";
import { isRunning, until } from "../helpers/wait.ts";

const unavailable = netnsUnavailable();
if (unavailable !== null) console.warn(`skipping the multi-host Gateway tests: ${unavailable}`);

const GATEWAY_PORT = 8282; // fixed inside host A's fresh namespace, where nothing else listens

interface Answer {
  host: string;
  pid: number;
  name: string;
}

/** Send "who" and parse the answer line that follows what has arrived so far. */
async function who(client: TestClient, timeoutMs = 10_000): Promise<Answer> {
  const seen = client.text.length;
  client.write("who\n");
  await client.until((c) => /host=\S+ pid=\d+ name=\S+\n/.test(c.text.slice(seen)), "an answer to who", timeoutMs);
  const m = client.text.slice(seen).match(/host=(\S+) pid=(\d+) name=(\S+)\n/)!;
  return { host: m[1], pid: Number(m[2]), name: m[3] };
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

/** Kill a process group (the start script and every child it forked). */
function killGroup(server: RunningServer): Promise<number | string> {
  try {
    process.kill(-server.proc.pid!, "SIGKILL");
  } catch {
    // already gone
  }
  return server.exited;
}

describe.skipIf(unavailable !== null).each(RUNTIMES)("Gateway and BusinessWorkers on three hosts, %s", (runtime) => {
  let network: Network;
  let dir: string;
  const servers: RunningServer[] = [];
  const clients: TestClient[] = [];
  let hub: RunningServer;
  let hostB: RunningServer;

  const startHost = (hostIndex: number, env: Record<string, string>) =>
    startServer(runtime, "gateway_multihost", ["start"], { PID_FILE: join(dir, `host${hostIndex}.pid`), ...env }, {
      prefix: network.exec(network.hosts[hostIndex]),
      detached: true,
    }).then((server) => {
      servers.push(server);
      return server;
    });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `wm-gw-multihost-${runtime}-`));
    network = createHosts(3);
    const [a] = network.hosts;
    hub = await startHost(0, { GW_ROLE: "hub", GW_LAN_IP: a.ip });
    const business = { GW_ROLE: "business", GW_REGISTER: `${a.ip}:1236` };
    hostB = await startHost(1, { ...business, GW_HOST_LABEL: "B" });
    await startHost(2, { ...business, GW_HOST_LABEL: "C" });
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const server of servers) await killGroup(server);
    network?.remove();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it("clients from another network reach BusinessWorkers on both hosts through the gateway on A", async () => {
    // Each of the two gateway processes is connected to each of the four BusinessWorker processes.
    for (const host of network.hosts.slice(1)) {
      await until(
        () => count(hub.output(), `BUSINESS CONNECTED ${host.ip}\n`) === 4,
        `the gateways to accept ${host.ns}'s BusinessWorkers`,
        20_000,
      );
    }
    const hosts = new Map<string, number>();
    // Least-connections routing spreads new clients over the four processes.
    for (let i = 0; clients.length < 40 && !((hosts.get("B") ?? 0) >= 3 && (hosts.get("C") ?? 0) >= 3); i++) {
      const client = await TestClient.connect(GATEWAY_PORT, network.hosts[0].ip);
      clients.push(client);
      await client.request(`name c${i}\n`, `named c${i}\n`);
      const answer = await who(client);
      expect(answer.name).toBe(`c${i}`);
      hosts.set(answer.host, (hosts.get(answer.host) ?? 0) + 1);
    }
    expect(hosts.get("B")).toBeGreaterThanOrEqual(3);
    expect(hosts.get("C")).toBeGreaterThanOrEqual(3);
    expect(hub.output()).not.toMatch(/Error/);
  });

  it("SIGKILL of host B's start script loses no client: each keeps its connection and session, and C answers it", async () => {
    const before = await Promise.all(clients.map((c) => who(c)));
    const onB = before.filter((a) => a.host === "B").length;
    expect(onB).toBeGreaterThan(0);

    await killGroup(hostB);
    const bPids = before.filter((a) => a.host === "B").map((a) => a.pid);
    await until(() => !bPids.some(isRunning), "host B's processes to be gone", 5000);

    // The gateway learns of B's death from the closed connections (a line it forwarded to B
    // before that would be lost with B): both gateway processes drop both of B's processes.
    await until(
      () => count(hub.output(), `BUSINESS CLOSED ${network.hosts[1].ip}\n`) === 4,
      "the gateways to drop host B's connections",
      5000,
    );
    const after = await Promise.all(clients.map((c) => who(c)));
    for (let i = 0; i < clients.length; i++) {
      expect(clients[i].closed).toBe(false);
      expect(after[i].host).toBe("C");
      expect(after[i].name).toBe(before[i].name);
    }
    const late = await TestClient.connect(GATEWAY_PORT, network.hosts[0].ip);
    clients.push(late);
    await late.request("name late\n", "named late\n");
    expect(await who(late)).toMatchObject({ host: "C", name: "late" });
  });
});
