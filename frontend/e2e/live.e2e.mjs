// A live update: new traffic commits windows, the watch socket announces them, and the overview redraws itself
// with the new counts, without a reload.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MODEL, TOKEN, UI, launch, open } from "./support.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("the overview updates as windows commit, without a reload", async () => {
  const page = await open(browser, `view=overview&model=${MODEL}&b=last:15m`);
  const stats = page.locator("main > .tap .stats").first();
  await stats.waitFor();
  await page.waitForFunction(() => document.getElementById("connection").textContent.startsWith("live"));
  const count = async () => Number(/B (\d+) obs/.exec(await stats.textContent())[1]);
  const first = await count();
  // a marker that a reload would wipe
  await page.evaluate(() => (window.ndMarker = "kept"));
  await page.waitForFunction((n) => {
    const text = document.querySelector("main > .tap .stats")?.textContent ?? "";
    return Number(/B (\d+) obs/.exec(text)?.[1] ?? 0) > n;
  }, first, { timeout: 30_000 });
  assert.ok(await count() > first);
  assert.equal(await page.evaluate(() => window.ndMarker), "kept", "the page was not reloaded");
  assert.deepEqual(page.errors, []);
});

test("after the watch socket drops, the UI says so, reconnects by itself and updates again", async () => {
  const page = await (await browser.newContext()).newPage();
  await page.context().addInitScript((t) => sessionStorage.setItem("nd.token", t), TOKEN);
  // every watch socket passes through the test, which can cut it as a restarting service would
  const sockets = [];
  await page.routeWebSocket(/api\/v1\/watch/, (ws) => {
    ws.connectToServer();
    sockets.push(ws);
  });
  await page.goto(`${UI}#view=overview&model=${MODEL}&b=last:15m`);
  await page.waitForFunction(() => document.getElementById("connection").textContent.startsWith("live"));
  await sockets[0].close({ code: 1012, reason: "service restart" });
  // read in the same poll that sees it: the UI reconnects after 1.5 to 3 s (the first wait of its backoff, jittered),
  // which a loaded machine can spend between two calls
  const shown = await (await page.waitForFunction(() => {
    const text = document.getElementById("connection").textContent;
    return text.startsWith("disconnected") ? text : null;
  })).jsonValue();
  assert.match(shown, /^disconnected \(service restart\); reconnecting in [1-3] s…$/);
  await page.waitForFunction(() => document.getElementById("connection").textContent.startsWith("live"),
    null, { timeout: 20_000 });
  assert.equal(sockets.length, 2, "one new socket");
  const stats = page.locator("main > .tap .stats").first();
  const count = async () => Number(/B (\d+) obs/.exec(await stats.textContent())[1]);
  const before = await count();
  await page.waitForFunction((n) => Number(/B (\d+) obs/.exec(document.querySelector("main > .tap .stats")
    ?.textContent ?? "")?.[1] ?? 0) > n, before, { timeout: 30_000 });
});
