// Benchmark server: each runtime's own WebSocket server with the framework's behaviour (echo;
// a text message starting with "B" goes to every connection): the `ws` package on Node,
// `Bun.serve` websockets on Bun (broadcast with `server.publish`), `Deno.upgradeWebSocket` on
// Deno. permessage-deflate off everywhere (the load client does not offer it). Prints
// `Start success. <name> ws://127.0.0.1:<port>` as the framework's banner does.
// deno-lint-ignore-file no-explicit-any
const g = globalThis as any;
const ready = (name: string, port: number) => console.log(`Start success. ${name} ws://127.0.0.1:${port}`);
const isBroadcast = (text: string) => text.charCodeAt(0) === 66;

if (g.Bun) {
  const server = g.Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req: Request, srv: any) {
      return srv.upgrade(req) ? undefined : new Response("websocket only", { status: 400 });
    },
    websocket: {
      perMessageDeflate: false,
      open(ws: any) {
        ws.subscribe("all");
      },
      message(ws: any, text: string) {
        if (isBroadcast(text)) server.publish("all", text);
        else ws.send(text);
      },
    },
  });
  ready("Bun.serve", server.port);
} else if (g.Deno) {
  const sockets = new Set<WebSocket>();
  g.Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }: { port: number }) => ready("Deno.upgradeWebSocket", port),
  }, (req: Request) => {
    const { socket, response } = g.Deno.upgradeWebSocket(req);
    socket.onopen = () => sockets.add(socket);
    socket.onclose = () => sockets.delete(socket);
    socket.onmessage = (e: MessageEvent) => {
      if (!isBroadcast(e.data)) socket.send(e.data);
      else for (const s of sockets) s.send(e.data);
    };
    return response;
  });
} else {
  const { WebSocketServer } = await import("ws");
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  wss.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? data : String(data);
      if (typeof text !== "string" || !isBroadcast(text)) ws.send(text);
      else for (const c of wss.clients) c.send(text);
    });
  });
  wss.on("listening", () => ready("ws", (wss.address() as { port: number }).port));
}
