// A live update: new traffic commits windows, the watch socket announces them, and the overview redraws itself
// with the new counts, without a reload.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MODEL, launch, open } from "./support.mjs";

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
