/**
 * Several "hosts" on this machine for multi-host end-to-end tests: one network namespace per
 * host, each with a veth pair whose outer end is enslaved to a bridge in the root namespace.
 * The bridge carries `10.231.<net>.1/24` so the test process (root namespace) reaches every
 * host, and host `i` is `10.231.<net>.<10 + i>`. Names and `<net>` derive from the test's pid
 * so parallel runs do not clash.
 *
 * Needs root (CAP_NET_ADMIN) and `ip` from iproute2; `netnsUnavailable()` says why not when
 * the kernel or user refuses, so the test can skip with that message.
 */
import { execFileSync } from "node:child_process";

/** One namespace: its name (for `ip netns exec`) and its address on the shared bridge. */
export interface Host {
  ns: string;
  ip: string;
}

/** A set of hosts on one bridge; `remove()` deletes everything `createHosts` made. */
export interface Network {
  /** The root namespace's address on the bridge (where the test's own clients come from). */
  rootIp: string;
  hosts: Host[];
  /** `ip netns exec <ns>` prefix for running a command on `host`. */
  exec(host: Host): string[];
  remove(): void;
}

function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Null when namespaces work here, else the reason they do not (for the skip message). */
export function netnsUnavailable(): string | null {
  const probe = `wtprobe${process.pid}`;
  try {
    ip("netns", "add", probe);
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
    return `cannot create a network namespace (needs root and iproute2): ${stderr}`;
  }
  try {
    ip("netns", "del", probe);
  } catch {
    // it was just created by us; a failure to delete leaves a harmless empty namespace
  }
  return null;
}

/**
 * Create `count` namespaces joined by a bridge. On any failure half-way, whatever was made is
 * removed before the error is rethrown.
 */
export function createHosts(count: number): Network {
  const tag = String(process.pid);
  const net = 1 + (process.pid % 250);
  const bridge = `wtbr${tag}`;
  const made: Array<() => void> = [];
  const remove = () => {
    for (const undo of made.splice(0).reverse()) {
      try {
        undo();
      } catch {
        // already gone (a namespace deletion also removes its veth pair)
      }
    }
  };
  try {
    ip("link", "add", bridge, "type", "bridge");
    made.push(() => ip("link", "del", bridge));
    ip("addr", "add", `10.231.${net}.1/24`, "dev", bridge);
    ip("link", "set", bridge, "up");
    const hosts: Host[] = [];
    for (let i = 0; i < count; i++) {
      const ns = `wt${tag}h${i}`;
      const outer = `wt${tag}v${i}`;
      ip("netns", "add", ns);
      made.push(() => ip("netns", "del", ns));
      ip("link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns);
      made.push(() => ip("link", "del", outer));
      ip("link", "set", outer, "master", bridge);
      ip("link", "set", outer, "up");
      const addr = `10.231.${net}.${10 + i}`;
      ip("-n", ns, "addr", "add", `${addr}/24`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      ip("-n", ns, "link", "set", "lo", "up");
      hosts.push({ ns, ip: addr });
    }
    return { rootIp: `10.231.${net}.1`, hosts, exec: (host) => ["ip", "netns", "exec", host.ns], remove };
  } catch (err) {
    remove();
    throw err;
  }
}
