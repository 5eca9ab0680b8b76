import { execFile, spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gotoPage, skipBrowser } from "../fixtures/http_browser.ts";
import { certsAndBrowser } from "../helpers/tls_browser.ts";
import { ROOT, type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";

const shared = certsAndBrowser();

/** Debian's python3-websockets (`.ci/run` installs it); on a machine without it those tests are skipped, with a note. */
const noPythonWebsockets = spawnSync("/usr/bin/python3", ["-c", "import websockets"]).status !== 0;
if (noPythonWebsockets) {
  console.warn(
    "skipping the python3-websockets interop tests: /usr/bin/python3 cannot import websockets (apt-get install python3-websockets)",
  );
}

/** Run the python3-websockets client against `url`; resolves with its output. */
function python(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const script = join(ROOT, "test", "fixtures", "ws_python_client.py");
    execFile("/usr/bin/python3", [script, url, shared.certs.ca], { timeout: 30_000 }, (err, stdout, stderr) => {
      err ? reject(new Error(`${err.message}\n${stdout}${stderr}`)) : resolve(stdout);
    });
  });
}

describe.each(RUNTIMES)("WebSocket interop on %s", (runtime) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(runtime, "ws_interop", ["start"], {
      TLS_CERT: shared.certs.cert,
      TLS_KEY: shared.certs.key,
    });
  });
  afterAll(async () => {
    const code = await server?.stop();
    expect(code, server?.output()).toBe(0);
  });

  for (const secure of [false, true]) {
    const [http, ws] = secure ? ["https", "wss"] : ["http", "ws"];
    it.skipIf(skipBrowser)(
      `Chromium: a page served over ${http} echoes 70 KB text and binary over ${ws}, close 1000`,
      async () => {
        const [pagePort, wsPort] = secure ? [server.ports[2], server.ports[3]] : [server.ports[0], server.ports[1]];
        const context = await shared.browser!.newContext({ ignoreHTTPSErrors: true });
        const page = await context.newPage();
        await gotoPage(page, `${http}://127.0.0.1:${pagePort}/`);
        const log = await page.evaluate(`run("${ws}://127.0.0.1:${wsPort}/")`);
        expect(log).toBe("open permessage-deflate|text true|binary true|close 1000");
        await context.close();
      },
    );

    it.skipIf(noPythonWebsockets)(
      `python3 websockets over ${ws}: deflate negotiated, text, binary, close code 4001`,
      async () => {
        const wsPort = secure ? server.ports[3] : server.ports[1];
        const out = await python(`${ws}://localhost:${wsPort}/`);
        expect(out.trim().split("\n")).toEqual([
          "extensions permessage-deflate",
          "text True",
          "binary True",
          "close 4001",
        ]);
      },
    );
  }
});
