// The platform requires a token: without one, or with a wrong one, the UI says so in words and asks; the right one
// opens it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MODEL, TOKEN, launch, open, screenshot } from "./support.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("a missing token is asked for, a bad one refused, the right one accepted", async () => {
  const page = await open(browser, `view=overview&model=${MODEL}`, { token: null });
  const error = page.locator("main .error");
  await error.waitFor();
  assert.match(await error.textContent(), /The platform requires an API token: this API requires 'authorization: Bearer/);
  const dialog = page.locator("#token-dialog");
  assert.ok(await dialog.isVisible(), "the token prompt is open");
  assert.match(await page.locator("#connection").textContent(), /not connected/);
  await screenshot(page, "token-missing");

  await page.fill("#token", "not-the-token");
  await page.press("#token", "Enter");
  await page.waitForFunction(() => /token was refused: the bearer token is not valid/.test(document.querySelector("main .error")?.textContent ?? ""));
  assert.ok(await dialog.isVisible(), "asked again");
  await screenshot(page, "token-refused");

  await page.fill("#token", TOKEN);
  await page.press("#token", "Enter");
  await page.locator("main > .tap[data-tap]").first().waitFor();
  assert.equal(await page.locator("main .error").count(), 0);
  assert.deepEqual(page.errors, []);
});
