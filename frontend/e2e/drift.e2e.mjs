// The acceptance check of the run command: within 2 minutes of the UI's URL being printed, the overview flags a
// tap drifting (the traffic starts with PGD-attacked digits; a monitor watches every tap against training).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MODEL, URL_PRINTED_AT, launch, open, screenshot, taps } from "./support.mjs";

const DEADLINE_MS = 120_000;
let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("the overview flags a drifting tap within 2 minutes of the URL", async () => {
  const page = await open(browser, `view=overview&model=${MODEL}`);
  const expected = (await taps()).map((t) => t.name);
  await page.locator(".tap[data-tap]").first().waitFor();
  assert.deepEqual(await page.locator("main > .tap").evaluateAll((rows) => rows.map((r) => r.dataset.tap)), expected,
    "one strip per tap, in network order");

  const left = URL_PRINTED_AT + DEADLINE_MS - Date.now();
  assert.ok(left > 0, "the browser test started after the 2 minutes were over");
  const flagged = page.locator(".tap .monitor.drifting").first();
  await flagged.waitFor({ timeout: left });
  const seconds = (Date.now() - URL_PRINTED_AT) / 1000;
  const tap = await flagged.evaluate((b) => b.closest(".tap").dataset.tap);
  assert.ok(expected.includes(tap));
  assert.match(await flagged.textContent(), /^DRIFTING since \d\d:\d\d:\d\d$/);
  assert.match(await page.locator(".heading .alarm").textContent(), /\d+ tap monitor\(s\) drifting/);
  console.log(`tap ${tap} flagged drifting ${seconds.toFixed(0)} s after the URL was printed`);
  await screenshot(page, "overview-drifting");
  assert.deepEqual(page.errors, []);
});
