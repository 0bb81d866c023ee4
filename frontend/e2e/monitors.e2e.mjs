// The Monitors view on the local run: the configured monitors listed as configuration's (the calibrated one with its
// threshold part by part); a monitor created through
// the form, confirmed by the API, turning drifting on the run's attacks, with its transition in its history and a
// link to the Neurons view of the window that decided it; then changed and deleted through the view.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MODEL, api, launch, open, screenshot } from "./support.mjs";

const NAME = "ui-made";
// the run's traffic loops through attacks and other drifting scenarios every few minutes (TrafficCommand's schedule)
const DRIFT_WITHIN_MS = 240_000;
let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

test("a monitor created in the view turns drifting, shows its history, and is changed and deleted there",
  { timeout: 290_000 }, async () => {
    const page = await open(browser, `view=monitors&model=${MODEL}`);
    page.on("dialog", (d) => d.accept());
    const configured = page.locator('tr[data-monitor="training-drift"]').first();
    await configured.waitFor();
    assert.match(await configured.textContent(), /configuration/);
    assert.equal(await configured.locator('button[name="edit"]').count(), 0, "configuration's: not editable here");
    // the calibrated monitor beside it shows its threshold part by part, as the API states it
    const parts = page.locator('tr[data-monitor="calibrated-drift"] small', { hasText: "detects" }).first();
    await parts.waitFor({ timeout: 120_000 });
    assert.match(await parts.textContent(), /= effect 0\.05 \+ null [\d.e-]+ \+ sketch [\d.e-]+; detects [\d.e-]+/);
    const calibrated = (await api("GET", `monitors?model_id=${MODEL}`)).monitors
      .filter((m) => m.name === "calibrated-drift" && m.calibration);
    assert.ok(calibrated.length > 0, "the API lists its evaluated taps");
    for (const m of calibrated) {
      const c = m.calibration;
      assert.ok(Math.abs(m.thresholdApplied - (c.minimumEffect + c.nullQuantile + c.sketchBound)) < 1e-9,
        `${m.tap}: the threshold is its parts' sum`);
      assert.ok(c.smallestDetectableEffect > m.thresholdApplied, `${m.tap}: it detects above its threshold`);
    }

    await page.locator('button[name="new-monitor"]').click();
    const form = page.locator("form.monitor-form");
    await form.locator('input[name="name"]').fill(NAME);
    await form.locator('input[name="threshold"]').fill("0.1");
    await form.locator('input[name="windowsInARow"]').fill("1");
    await form.locator('input[name="minObservations"]').fill("50");
    // a live redraw that fails while the form is filled in (the list answered 503 once) keeps what was typed
    await page.route("**/v1/monitors?model_id=*", (route) => route.fulfill({ status: 503,
      contentType: "application/json", body: JSON.stringify({ code: "UNAVAILABLE", message: "injected outage" }) }),
      { times: 1 });
    await page.locator("main p.error", { hasText: "injected outage" }).waitFor({ timeout: 30_000 });
    await page.locator("main p.error", { hasText: "injected outage" }).waitFor({ state: "detached", timeout: 30_000 });
    assert.equal(await form.locator('input[name="name"]').inputValue(), NAME, "the typed name survives the failure");
    assert.equal(await form.locator('input[name="threshold"]').inputValue(), "0.1");
    await form.locator('button[type="submit"]').click();
    await form.waitFor({ state: "detached" }).catch(async (e) => {
      // say why the form stayed: the service's refusal, or a field the browser refused
      const said = await form.locator("p.error").textContent().catch(() => "?");
      const name = await form.locator('input[name="name"]').inputValue().catch(() => "?");
      throw new Error(`the form stayed (its error: "${said}", its name field: "${name}"): ${e.message}`);
    });
    const made = (await api("GET", `monitors?model_id=${MODEL}`)).monitors.filter((m) => m.name === NAME);
    assert.ok(made.length > 0, "the API lists it");
    assert.equal(made[0].definition.source, "MONITOR_SOURCE_API");
    assert.equal(made[0].definition.threshold, 0.1);
    assert.equal(made[0].definition.windowsInARow, 1);

    // the view redraws live: a row of it turns drifting without a reload
    const drifting = page.locator(`tr[data-monitor="${NAME}"][data-state="MONITOR_STATE_DRIFTING"]`).first();
    await drifting.waitFor({ timeout: DRIFT_WITHIN_MS });
    assert.match(await drifting.textContent(), /DRIFTING since (≤ )?\d\d:\d\d:\d\d/);
    // its value over the last hours, against the threshold
    assert.ok(await drifting.locator("svg.value-line path.value").count() > 0, "a line of its evaluations");
    await page.locator(`tr[data-monitor="${NAME}"] button[name="history"]`).first().click();
    // the newest transition to drifting: another tap's (to ok, say) may have come after it in the same minute
    const history = page.locator('.history tr[data-transition][data-state="MONITOR_STATE_DRIFTING"]').first();
    await history.waitFor();
    assert.match(await history.textContent(), /drifting/);
    const stored = await api("GET", `monitors/${NAME}/history`);
    const shown = await history.getAttribute("data-transition");
    const newest = stored.transitions.find((t) => t.id === shown);
    assert.equal(newest?.monitor.state, "MONITOR_STATE_DRIFTING", "the row is a stored transition to drifting");
    await screenshot(page, "monitors");
    // where to look: the transition's top neurons, and the Neurons view of its deciding window against the reference
    assert.ok(newest.topNeurons.length > 0, "a drifting transition names its most drifted neurons");
    assert.match(await history.textContent(), new RegExp(newest.topNeurons.join(", ")));
    const href = await history.locator("a.look").getAttribute("href");
    const linked = new URLSearchParams(href.slice(1));
    assert.equal(linked.get("view"), "neurons");
    assert.equal(linked.get("tap"), newest.monitor.tap);
    assert.equal(linked.get("a"), "ref:training");
    assert.equal(linked.get("b"), `${newest.monitor.window.from}/${newest.monitor.window.to}`);
    const neurons = await open(browser, href.slice(1));
    await neurons.locator("main .summary").waitFor();
    assert.match(await neurons.locator("main .summary").textContent(), new RegExp(`^${newest.monitor.tap}: `));
    assert.deepEqual(neurons.errors, []);
    await neurons.context().close();

    await page.locator(`tr[data-monitor="${NAME}"] button[name="edit"]`).first().click();
    await form.locator('input[name="threshold"]').fill("0.5");
    await form.locator('button[type="submit"]').click();
    await form.waitFor({ state: "detached" });
    assert.equal((await api("GET", `monitors/${NAME}/history`)).monitor.threshold, 0.5);

    await page.locator(`tr[data-monitor="${NAME}"] button[name="delete"]`).first().click();
    await page.locator(`tr[data-monitor="${NAME}"]`).first().waitFor({ state: "detached" });
    assert.equal((await api("GET", `monitors?model_id=${MODEL}`)).monitors.filter((m) => m.name === NAME).length, 0);
    assert.deepEqual(page.errors, []);
  });
