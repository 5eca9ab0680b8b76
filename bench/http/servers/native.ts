/**
 * Benchmark server: each runtime's own HTTP server answering "hello world" (text/html, as the
 * framework does): `node:http`, `Deno.serve`, `Bun.serve`. One process.
 *
 * Prints `native <runtime> listening http://127.0.0.1:<port>` then `Start success.`.
 */
// deno-lint-ignore-file no-explicit-any
const g = globalThis as any;
const runtimeName: "node" | "deno" | "bun" = g.Bun ? "bun" : g.Deno ? "deno" : "node";
const HOST = "127.0.0.1";
const port = Number(g.process?.env?.BENCH_PORT ?? 0);
const HEADERS = { "Content-Type": "text/html;charset=utf-8", Server: "workerman" };

function announce(p: number): void {
  console.log(`native ${runtimeName} listening http://${HOST}:${p}`);
  console.log(`WORKER_PID ${g.process?.pid ?? g.Deno?.pid}`);
  console.log("Start success.");
}

if (runtimeName === "bun") {
  const server = g.Bun.serve({ hostname: HOST, port, fetch: () => new Response("hello world", { headers: HEADERS }) });
  announce(server.port);
} else if (runtimeName === "deno") {
  g.Deno.serve(
    { hostname: HOST, port, onListen: (addr: { port: number }) => announce(addr.port) },
    () => new Response("hello world", { headers: HEADERS }),
  );
} else {
  const http = await import("node:http");
  const server = http.createServer((_req, res) => {
    res.writeHead(200, HEADERS);
    res.end("hello world");
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, HOST, () => announce((server.address() as { port: number }).port));
}
