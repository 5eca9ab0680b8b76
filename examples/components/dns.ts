// DNS with node:dns/promises: a line is a host name, answered with its IPv4 addresses as the
// chosen DNS server gives them (dns.lookup instead asks the system, /etc/hosts included).
import { Resolver } from "node:dns/promises";
import { Worker } from "workerman-ts";

const resolver = new Resolver({ timeout: 2000, tries: 2 });
resolver.setServers([process.env.DNS_SERVER ?? "8.8.8.8"]);

const worker = new Worker(`text://0.0.0.0:${process.env.PORT ?? 2345}`);
worker.count = 2;

worker.onMessage = async (conn, host: string) => {
  try {
    conn.send(`${host}: ${(await resolver.resolve4(host)).join(", ")}`);
  } catch (err) {
    conn.send(`${host}: ${(err as { code?: string }).code}`); // ENOTFOUND, ETIMEOUT, ...
  }
};

Worker.runAll();
