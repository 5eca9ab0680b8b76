// The chat example (examples/chat) end to end in headless Chromium, on each runtime: the page
// comes from the framework's WebServer, the WebSocket goes to the Gateway, the logic runs in
// BusinessWorkers behind a Register. Two pages join one room and see each other in the user
// list, exchange a public and a private message, and a page in another room sees neither.
// Then `reload` replaces the BusinessWorkers: the pages stay connected, keep their nicknames
// (sessions live on the gateway), and the next message is handled by a new process. A page whose
// gateway process dies shows it is reconnecting, reconnects and logs in again by itself, and a
// page on the other gateway process lists it once, under its new id. The
// layout is checked at phone and desktop widths (CHAT_SCREENSHOTS=<dir> saves screenshots there).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientIdDecode } from "../../mod.ts";
import { gotoPage, launchChromium, skipBrowser } from "../fixtures/http_browser.ts";
import { freePorts } from "../helpers/ports.ts";
import { runFixture, type RunningServer, RUNTIMES, startServer } from "../helpers/server.ts";
import { isRunning, until } from "../helpers/wait.ts";

let browser: Browser | null = null;
beforeAll(async () => {
  if (!skipBrowser) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

/** Pids of the BusinessWorker processes that reported ready, in order. */
const businessPids = (output: string) =>
  [...output.matchAll(/ChatBusiness process (\d+) ready/g)].map((m) => Number(m[1]));

/** `[pid, inner port, business workers]` of each "ChatGateway process ... has N business worker(s)" line. */
const gatewayLines = (output: string) =>
  [...output.matchAll(/ChatGateway process (\d+) \(inner port (\d+)\) has (\d+) business worker/g)].map((m) =>
    m.slice(1).map(Number)
  );

/** Gateway processes that have been joined by `n` BusinessWorker processes. */
const gatewaysWith = (output: string, n: number) =>
  new Set(gatewayLines(output).filter(([, , workers]) => workers >= n).map(([pid]) => pid)).size;

async function join_(page: Page, url: string, name: string, room: string): Promise<void> {
  await gotoPage(page, url);
  await page.locator("#status", { hasText: "connected" }).waitFor();
  await page.fill("#name", name);
  await page.fill("#roomName", room);
  await page.click("#login button");
  await page.locator("#room", { hasText: `room: ${room}` }).waitFor();
}

async function say(page: Page, content: string, to = ""): Promise<void> {
  await page.selectOption("#to", to === "" ? { value: "" } : { label: to });
  await sayAgain(page, content);
}

/** Send without choosing a recipient: to whoever the page has selected now. */
async function sayAgain(page: Page, content: string): Promise<void> {
  await page.fill("#content", content);
  await page.click("#say button");
}

/** The log entry of `page` with exactly `text`, once it has arrived. */
async function entry(page: Page, text: string) {
  const li = page.locator("#log li", { hasText: text });
  await li.waitFor();
  return li;
}

const users = (page: Page) => page.locator("#users li").allTextContents();

describe.skipIf(skipBrowser).each(RUNTIMES)("the chat example in Chromium on %s", (runtime) => {
  let server: RunningServer;
  let dir: string;
  let env: Record<string, string>;
  let url: string;
  let alice: Page;
  let bob: Page;
  let carol: Page;
  let dave: Page;
  /** Responses with status 404 to any of the pages' requests. */
  const notFound: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `wm-chat-${runtime}-`));
    const [web, ws, register] = await freePorts(3);
    env = {
      PID_FILE: join(dir, "chat.pid"),
      CHAT_WEB_PORT: String(web),
      CHAT_WS_PORT: String(ws),
      CHAT_REGISTER_PORT: String(register),
      CHAT_INNER_PORT: "0", // each Gateway process takes an ephemeral inner port
    };
    server = await startServer(runtime, "chat", ["start"], env);
    url = `http://127.0.0.1:${web}/`;
    await until(() => businessPids(server.output()).length === 2, "two ChatBusiness processes", 20_000);
    // Both gateway processes must have both BusinessWorkers: a page may land on either.
    await until(() => gatewaysWith(server.output(), 2) === 2, "both gateways joined by both BusinessWorkers", 20_000);
    // One browser context (window, cookie jar) per user, as three people would have.
    [alice, bob, carol, dave] = await Promise.all(
      [0, 1, 2, 3].map(async () => (await browser!.newContext()).newPage()),
    );
    for (const page of [alice, bob, carol, dave]) {
      page.on("response", (r) => r.status() === 404 && notFound.push(r.url()));
    }
  }, 60_000);

  afterAll(async () => {
    for (const page of [alice, bob, carol, dave]) await page?.context().close();
    const code = await server?.stop(8000);
    rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(0);
  }, 30_000);

  it("the login box has the nickname focused and its inputs aligned; the page asks for nothing that is missing (favicon)", async () => {
    const screenshots = process.env.CHAT_SCREENSHOTS;
    await gotoPage(alice, url);
    await alice.locator("#status", { hasText: "connected" }).waitFor();
    expect(await alice.evaluate("document.activeElement?.id")).toBe("name");
    for (const width of [1280, 390]) {
      await alice.setViewportSize({ width, height: 800 });
      const [name, room] = [await alice.locator("#name").boundingBox(), await alice.locator("#roomName").boundingBox()];
      expect(name!.x).toBe(room!.x);
      expect(name!.width).toBe(room!.width);
      expect(name!.x + name!.width).toBeLessThanOrEqual(width);
      if (screenshots) await alice.screenshot({ path: join(screenshots, `chat-${runtime}-login-${width}.png`) });
    }
    await alice.setViewportSize({ width: 1280, height: 720 });
    await alice.keyboard.type("typed"); // straight into the focused nickname
    expect(await alice.inputValue("#name")).toBe("typed");
    // Headless Chromium asks for no favicon, a browser does: /favicon.ico unless the page names one.
    const icon = await alice.evaluate("document.querySelector('link[rel~=icon]')?.href ?? null") as string | null;
    expect(icon, "the page names no icon: browsers would ask for /favicon.ico").not.toBe(null);
    if (!icon!.startsWith("data:")) expect((await fetch(icon!)).status).toBe(200);
    expect(notFound).toEqual([]);
  });

  it("two pages in one room see each other and exchange public and private messages; another room sees none of it", async () => {
    await join_(alice, url, "alice", "tea");
    await join_(bob, url, "bob", "tea");
    await join_(carol, url, "carol", "coffee");
    await entry(alice, "bob joined");
    await expect.poll(() => users(alice)).toEqual(["alice", "bob"]);
    await expect.poll(() => users(bob)).toEqual(["alice", "bob"]);
    await expect.poll(() => users(carol)).toEqual(["carol"]);

    await say(alice, "hello everyone");
    await entry(bob, "alice: hello everyone");
    await entry(alice, "alice: hello everyone");

    await say(bob, "psst", "alice");
    const secret = await entry(alice, "bob → you: psst");
    expect(await secret.getAttribute("class")).toBe("private");
    await entry(bob, "bob → alice: psst");
    // The recipient was for that message only: the next one, with none chosen, goes to the room.
    expect(await bob.inputValue("#to")).toBe("");

    await say(carol, "anyone here?");
    await entry(carol, "carol: anyone here?");
    // carol's room is another group: bob's later line reaches alice, carol's never does.
    await sayAgain(bob, "last one");
    expect(await (await entry(alice, "bob: last one")).getAttribute("class")).not.toBe("private");
    expect(await alice.locator("#log li").allTextContents()).not.toContain("carol: anyone here?");
    expect(await carol.locator("#log li").allTextContents()).not.toContain("alice: hello everyone");
    expect(await carol.locator("#log li", { hasText: "psst" }).count()).toBe(0);
    expect(notFound).toEqual([]);
  });

  it("at 390 px wide the user list is a strip above the messages; at desktop width a column beside them", async () => {
    const screenshots = process.env.CHAT_SCREENSHOTS;
    await alice.setViewportSize({ width: 390, height: 844 });
    const aside = (await alice.locator("aside").boundingBox())!;
    const log = (await alice.locator("#log").boundingBox())!;
    expect(aside.width * aside.height).toBeLessThan(0.15 * 390 * 844);
    expect(log.width).toBeGreaterThan(0.9 * 390);
    expect(log.height).toBeGreaterThan(0.5 * 844);
    expect(await alice.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390); // no sideways scrolling
    if (screenshots) await alice.screenshot({ path: join(screenshots, `chat-${runtime}-390.png`) });
    await alice.setViewportSize({ width: 1280, height: 800 });
    const wide = (await alice.locator("aside").boundingBox())!;
    expect(wide.width).toBeLessThan(0.25 * 1280);
    expect(wide.height).toBeGreaterThan(0.5 * 800);
    if (screenshots) await alice.screenshot({ path: join(screenshots, `chat-${runtime}-1280.png`) });
  });

  it("reload replaces the BusinessWorkers while both pages stay connected, and the next message is handled by a new process", async () => {
    const before = businessPids(server.output());
    const handledBefore = Number(await (await entry(alice, "bob: last one")).getAttribute("data-handler"));
    expect(before).toContain(handledBefore);

    const reload = runFixture(runtime, "chat", ["reload"], env);
    expect(await reload.exited).toBe(0);
    await until(
      () => businessPids(server.output()).length === 4 && before.every((pid) => !isRunning(pid)),
      "two new ChatBusiness processes, the old ones gone",
      20_000,
    );
    const after = businessPids(server.output()).slice(2);

    await say(bob, "after the reload");
    const line = await entry(alice, "bob: after the reload");
    expect(after).toContain(Number(await line.getAttribute("data-handler")));
    await say(alice, "still here", "bob");
    await entry(bob, "alice → you: still here");
    for (const page of [alice, bob]) {
      expect(await page.textContent("#status")).toBe("connected");
      expect(await page.locator("#log li", { hasText: "left" }).count()).toBe(0);
    }
    await expect.poll(() => users(alice)).toEqual(["alice", "bob"]);
    expect(server.output()).not.toMatch(/Error|Waring/);
    // Every process exited on its own: none was killed at the stop timeout (the WebServer's
    // connections the browser opened and never used owe nothing and close at once).
    await server.waitForOutput(/reload done/, 20_000);
    expect(server.output()).not.toMatch(/exit with status/);
  });

  it("a page whose gateway process dies says it is reconnecting, reconnects, logs in again as before and can send; the others list it once", async () => {
    const myId = (page: Page) => page.locator("#users li.me").getAttribute("data-id");
    const before = await myId(alice);
    const bobBefore = await myId(bob);
    const inner = clientIdDecode(before!)!.port;
    // dave watches from the other gateway process (the kernel picks one per connection: retry).
    for (let i = 0; i < 20; i++) {
      await join_(dave, url, "dave", "tea");
      if (clientIdDecode((await myId(dave))!)!.port !== inner) break;
    }
    expect(clientIdDecode((await myId(dave))!)!.port, "dave never landed on the other gateway process").not.toBe(inner);
    await expect.poll(() => users(dave)).toEqual(["alice", "bob", "dave"]);
    const [pid] = gatewayLines(server.output()).find(([, port]) => port === inner)!;
    const reconnecting = alice.locator("#status", { hasText: "reconnecting" }).waitFor({ timeout: 20_000 });
    process.kill(pid, "SIGKILL");
    await reconnecting;
    await expect.poll(() => alice.textContent("#status"), { timeout: 20_000 }).toBe("connected");
    await alice.locator("#room", { hasText: "room: tea" }).waitFor();
    await expect.poll(() => myId(alice), { timeout: 20_000 }).not.toBe(before);
    expect(await alice.locator("#users li.me").textContent()).toBe("alice");
    // bob too, when the same process served him: a message sent before he is back would miss him.
    if (clientIdDecode(bobBefore!)!.port === inner) {
      await expect.poll(() => myId(bob), { timeout: 20_000 }).not.toBe(bobBefore);
    }
    await sayAgain(alice, "back again");
    await entry(bob, "alice: back again");
    await entry(alice, "alice: back again");
    // onClose never ran for the connections of the dead process: alice's page said which id was hers.
    await entry(dave, "alice left");
    await expect.poll(() => users(dave), { timeout: 20_000 }).toEqual(["alice", "bob", "dave"]);
    const aliceNow = await myId(alice);
    expect(await dave.locator("#users li", { hasText: "alice" }).getAttribute("data-id")).toBe(aliceNow);
  });
});
