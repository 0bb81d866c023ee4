// A digit uploaded in the Instances view goes through inference like any request, reaches the recent store through
// Kafka and the aggregator, and is placed neuron by neuron in the reference.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MODEL, api, launch, open, screenshot, taps } from "./support.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("an uploaded digit is classified by inference and placed in the reference", async () => {
  // a real digit: the benign input of a recent pair, as the platform captured it (a 28x28 PNG)
  const pairs = (await api("GET", `pairs?model_id=${MODEL}`)).pairs;
  const pair = await api("POST", "inspect-pair", { modelId: MODEL, pairId: pairs[0].pairId,
    against: { reference: "training" }, topK: 1 });
  assert.ok(pair.benign.imagePng, "the pair's benign image is kept");
  const tapList = await taps();

  const page = await open(browser, `view=instances&model=${MODEL}`);
  const file = page.locator("#upload-file");
  await file.waitFor();
  await file.setInputFiles({ name: "digit.png", mimeType: "image/png", buffer: Buffer.from(pair.benign.imagePng,
    "base64") });
  const caption = page.locator(".uploaded figcaption");
  await caption.waitFor();
  // the same pixels through the same model: the same class as when the platform first saw them
  assert.match(await caption.textContent(), new RegExp(`^uploaded: predicted ${pair.benign.predictedClass} \\(`));
  await page.locator(".uploaded .placements .tap").first().waitFor({ timeout: 30_000 });
  assert.match(await caption.textContent(), /anomaly score \d/);
  assert.deepEqual(await page.locator(".uploaded .placements .tap").evaluateAll((r) => r.map((x) => x.dataset.tap)),
    tapList.map((t) => t.name));
  const instance = /instance ([0-9a-f-]{36})/.exec(await caption.textContent())[1];
  const placed = await api("POST", "inspect-instance", { modelId: MODEL, instanceId: instance,
    against: { reference: "training" } });
  assert.equal(placed.taps.length, tapList.length, "the API finds the uploaded instance too");
  await screenshot(page, "instances-upload");
  assert.deepEqual(page.errors, []);
});
