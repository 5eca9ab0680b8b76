/**
 * Parsing of socket names such as `tcp://0.0.0.0:8080`, `text://[::1]:9000`,
 * `unix:///tmp/app.sock`.
 *
 * @module
 */
import { ConfigError } from "./errors.ts";

/** A parsed socket name. */
export interface SocketAddress {
  /** The scheme, lower-cased: a transport (`tcp`, `udp`, `unix`, `ssl`) or a protocol name. */
  scheme: string;
  /** Host without brackets (empty for unix sockets). */
  host: string;
  port: number;
  /** Socket file path for `unix://`. */
  path: string;
}

const EXAMPLE = "e.g. tcp://0.0.0.0:8080, text://[::1]:9000 or unix:///tmp/app.sock";

/** Parse `scheme://host:port` or `unix:///path`. Throws a {@link ConfigError} that says what is wrong. */
export function parseSocketName(name: string): SocketAddress {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(name);
  if (!match) {
    throw new ConfigError(
      "ERR_SOCKET_NAME",
      `invalid socket name "${name}": expected <scheme>://<address>, ${EXAMPLE}`,
    );
  }
  const scheme = match[1].toLowerCase();
  const rest = match[2];
  if (scheme === "unix") {
    if (!rest) {
      throw new ConfigError("ERR_SOCKET_NAME", `invalid socket name "${name}": unix:// needs a path, ${EXAMPLE}`);
    }
    return { scheme, host: "", port: 0, path: rest };
  }
  const hostPort = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:/\[\]]+)):(\d{1,5})(\/.*)?$/.exec(rest);
  const port = hostPort ? Number(hostPort[3]) : NaN;
  if (!hostPort || port > 65535) {
    throw new ConfigError(
      "ERR_SOCKET_NAME",
      `invalid socket name "${name}": expected ${scheme}://<host>:<port> with a port from 0 to 65535, ${EXAMPLE}`,
    );
  }
  return { scheme, host: hostPort[1] ?? hostPort[2], port, path: hostPort[4] ?? "" };
}

/** `host:port`, bracketing IPv6 hosts. */
export function formatHostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** An IP without the IPv4-mapped prefix (`::ffff:1.2.3.4` → `1.2.3.4`) that dual-stack sockets report. */
export function plainIp(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
