/**
 * Sends the raw requests of test/helpers/http_strict.ts to the manual's http example
 * (test/fixtures/http.ts, on the runtime named, node by default: build first) and to a
 * node:http server in this process, in the same run, and prints what each answered as a
 * Markdown table (the comparison in docs/hardening.md):
 *
 *   npx tsx scripts/build_npm.ts && npx tsx scripts/compare_node_http.ts [node|deno|bun]
 *
 * Both answer "hello world" once the body has been read. A server that neither answers nor
 * closes within two seconds is reported as waiting (for a body it was told is coming).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Socket } from "node:net";
import { STRICT_ACCEPTED, STRICT_REFUSALS } from "../test/helpers/http_strict.ts";
import { type RuntimeName, RUNTIMES, startServer } from "../test/helpers/server.ts";

const runtime = (process.argv[2] ?? "node") as RuntimeName;
if (!RUNTIMES.includes(runtime)) {
  console.error(`unknown runtime "${runtime}"; one of: ${RUNTIMES.join(", ")}`);
  process.exit(2);
}

/** The status line's code and reason (or what happened instead) for `raw` sent as latin1 bytes. */
function answer(port: number, raw: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let text = "";
    const done = (what: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(what);
    };
    const timer = setTimeout(() => done(text ? status(text) : "waits (no answer in 2 s)"), 2000);
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      if (/hello world$/.test(text)) done(status(text));
    });
    socket.on("error", () => {});
    socket.on("close", () => done(text ? status(text) : "closed, no answer"));
    socket.connect(port, "127.0.0.1", () => socket.write(Buffer.from(raw, "latin1")));
  });
}

function status(text: string): string {
  const line = text.slice(0, text.indexOf("\r\n"));
  return line.replace(/^HTTP\/1\.[01] /, "");
}

const node = createServer((req, res) => {
  req.resume();
  req.on("end", () => res.end("hello world"));
});
await new Promise<void>((resolve) => node.listen(0, "127.0.0.1", resolve));
const nodePort = (node.address() as AddressInfo).port;
const server = await startServer(runtime, "http");
const ours = server.ports[0];

console.log(`| request | workerman-ts (${runtime}) | node:http (Node ${process.versions.node}) |`);
console.log("| --- | --- | --- |");
try {
  for (const [what, , , raw] of STRICT_REFUSALS) {
    console.log(`| ${what} | ${await answer(ours, raw)} | ${await answer(nodePort, raw)} |`);
  }
  for (const [what, raw] of STRICT_ACCEPTED) {
    console.log(`| ${what} | ${await answer(ours, raw)} | ${await answer(nodePort, raw)} |`);
  }
} finally {
  await server.stop();
  node.close();
}
