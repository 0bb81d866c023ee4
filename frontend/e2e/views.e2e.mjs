// Each of the five views against the running platform, read as a person would: tap names, neuron ids, classes,
// counts and images that the API confirms; screenshots at 1280x800 and 1920x1080.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MODEL, VIEWPORTS, api, assertFits, closedRange, launch, open, screenshot, taps } from "./support.mjs";

let browser;
let range;
let tapList;
before(async () => {
  browser = await launch();
  range = await closedRange();
  tapList = await taps();
  // the aggregator may still be committing the range's minutes (it lags on a busy machine, most while it replays
  // the training reference at start): wait until every tap has observations in B and two reads 3 s apart agree,
  // so that the page and the test see the same windows
  let last = "";
  for (let i = 0; i < 30; i++) {
    let counts = "";
    try {
      const compare = await api("POST", "compare", { modelId: MODEL, a: { reference: "training" }, b: selectionB() });
      counts = compare.taps.map((t) => t.summary.countB).join(",");
    } catch (e) {
      if (!String(e.message).includes("holds no observations")) throw e;
    }
    if (counts !== "" && counts === last) return;
    last = counts;
    await new Promise((r) => setTimeout(r, 3000));
  }
  throw new Error(`side B (${range.from}/${range.to}) kept changing: ${last}`);
});
after(async () => browser?.close());

const B = () => `${range.from}/${range.to}`;
const selectionB = () => ({ timeRange: { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() },
  slice: { all: true } });

for (const [size, viewport] of Object.entries(VIEWPORTS)) {
  test(`overview (${size}): a strip per tap with the API's counts`, async () => {
    const page = await open(browser, `view=overview&model=${MODEL}&b=${B()}`, { viewport });
    await page.locator("main > .tap").first().waitFor();
    const compare = await api("POST", "compare", { modelId: MODEL, a: { reference: "training" }, b: selectionB() });
    for (const t of compare.taps) {
      const text = await page.locator(`main > .tap[data-tap="${t.summary.tap}"] .stats`).textContent();
      assert.ok(text.endsWith(`B ${t.summary.countB} obs.`), `${t.summary.tap}: ${text}`);
      assert.ok(Number(t.summary.countB) > 0);
      // the layer statistic: every tap of the local model is stored as one block, its windows and the training
      // reference with their feature sums, so it is available, and the page shows the API's verdict
      const layer = t.summary.layer;
      assert.ok(layer?.available, `${t.summary.tap}: ${JSON.stringify(layer)}`);
      const badge = page.locator(`main > .tap[data-tap="${t.summary.tap}"] .layer`);
      assert.equal(await badge.getAttribute("data-state"), layer.drifted ? "drifted" : "ok");
      assert.match(await badge.getAttribute("title"), /^layer statistic \(all neurons together\): MMD² /);
    }
    // the onset tap, where the API finds one (B may hold too little attacked traffic for any)
    const layers = await api("POST", "layer-overview", { modelId: MODEL, a: { reference: "training" }, b: selectionB() });
    const marked = await page.locator("main > .tap.onset").evaluateAll((rows) => rows.map((r) => r.dataset.tap));
    assert.deepEqual(marked, layers.onsetTap ? [layers.onsetTap] : []);
    // the reference every monitor compares against: sealed by the run command's replay, with the API's count
    const training = (await api("GET", `references?model_id=${MODEL}`)).references.find((r) => r.name === "training");
    const item = page.locator('main .references li[data-reference="training"]');
    assert.equal(await item.getAttribute("data-state"), "sealed");
    assert.match(await item.textContent(), new RegExp(`: sealed .*, ${training.observationCount} observations$`));
    await assertFits(page, assert);
  await screenshot(page, "overview");
    assert.deepEqual(page.errors, []);
  });
}

/** The values the small multiples' captions show ("#12 PSI 0.31 drifted"), in page order. */
async function captionValues(page, metric) {
  const captions = await page.locator("button.neuron .caption").allTextContents();
  return captions.map((c) => {
    const m = new RegExp(`^#\\d+ ${metric} (\\S+)`).exec(c);
    assert.ok(m, `caption '${c}'`);
    return Number(m[1]);
  });
}

test("neurons: sorted by the metric, small multiples, exemplars on demand", async () => {
  const tap = tapList[tapList.length - 1];
  const page = await open(browser, `view=neurons&model=${MODEL}&tap=${tap.name}&b=${B()}`);
  const summary = page.locator("main .summary");
  await summary.waitFor();
  assert.match(await summary.textContent(), new RegExp(`^${tap.name}: ${tap.neuronCount} neurons, `));
  const compare = await api("POST", "compare", { modelId: MODEL, tap: tap.name, a: { reference: "training" },
    b: selectionB() });
  const neurons = new Map(compare.taps[0].neurons.map((n) => [n.neuron, n]));
  const shown = await page.locator("button.neuron").evaluateAll((b) => b.map((x) => Number(x.dataset.neuron)));
  assert.equal(shown.length, Math.min(120, tap.neuronCount));
  assert.deepEqual(await captionValues(page, "KS"), (await captionValues(page, "KS")).slice().sort((x, y) => y - x),
    "largest KS first");
  // each merge of a selection's sketches compacts at random, so two reads agree within the reported error bound
  const maxKs = Math.max(...compare.taps[0].neurons.map((n) => n.ks));
  const first = neurons.get(shown[0]);
  assert.ok(first.ks + first.ksErrorBound >= maxKs, `neuron ${shown[0]} (KS ${first.ks}) is not the largest (${maxKs})`);
  await assertFits(page, assert);
  await screenshot(page, "neurons");

  await page.locator("main select").nth(1).selectOption("psi");
  await page.waitForFunction(() => location.hash.includes("metric=psi"));
  await page.locator("button.neuron .caption", { hasText: "PSI" }).first().waitFor();
  assert.deepEqual(await captionValues(page, "PSI"), (await captionValues(page, "PSI")).slice().sort((x, y) => y - x),
    "largest PSI first");
  const byPsi = Number(await page.locator("button.neuron").first().getAttribute("data-neuron"));
  const maxPsi = Math.max(...compare.taps[0].neurons.map((n) => Number(n.psi)));
  const top = neurons.get(byPsi);
  assert.ok(Number(top.psi) + Number(top.psiErrorBound) >= maxPsi, `neuron ${byPsi} (PSI ${top.psi}) is not the ` +
    `largest (${maxPsi})`);

  await page.locator("button.neuron").first().click();
  const heading = page.locator("#exemplars h2");
  await heading.waitFor();
  assert.match(await heading.textContent(), new RegExp(`${tap.name} #${byPsi} highest`));
  const exemplars = await api("POST", "neuron-exemplars", { modelId: MODEL, tap: tap.name, neuron: byPsi, limit: 8 });
  const withImages = (exemplars.exemplars ?? []).filter((e) => e.imagePng).length;
  assert.ok(withImages > 0, "the recent store holds images of the live traffic");
  await page.waitForFunction(() => [...document.querySelectorAll("#exemplars img")].every((i) => i.naturalWidth > 0));
  // new traffic may have replaced some exemplars since the page asked: the page shows images, all of them loaded
  assert.ok(await page.locator("#exemplars img").count() > 0, "exemplar images shown");
  await screenshot(page, "neurons-exemplars");
  assert.deepEqual(page.errors, []);
});

test("class matrix: the predicted classes of B, a cell opening the neurons of two classes", async () => {
  const tap = tapList[tapList.length - 1];
  const page = await open(browser, `view=classes&model=${MODEL}&tap=${tap.name}&b=${B()}`);
  await page.locator("table.matrix").waitFor();
  const matrix = await api("POST", "class-matrix", { modelId: MODEL, tap: tap.name, timeRange: selectionB().timeRange });
  const header = await page.locator("table.matrix tr").first().locator("th").allTextContents();
  assert.deepEqual(header.slice(1), matrix.classes.map(String));
  assert.ok(matrix.classes.length >= 2);
  await assertFits(page, assert);
  await screenshot(page, "classes");
  const [ca, cb] = matrix.classes;
  await page.locator(`td[data-classes="${ca},${cb}"]`).click();
  await page.waitForFunction(() => location.hash.includes("view=neurons"));
  assert.ok(decodeURIComponent(await page.evaluate(() => location.hash)).includes(`@predicted=${cb}`));
  await page.locator("main .summary").waitFor();
  assert.match(await page.locator("main .summary").textContent(), new RegExp(`^${tap.name}: `));
  assert.equal(await page.inputValue("#side-a"), `${B()}@predicted=${ca}`);
  assert.deepEqual(page.errors, []);
});

test("instances: an attacked pair, its images, percentiles and moved neurons", async () => {
  const pairs = (await api("GET", `pairs?model_id=${MODEL}`)).pairs;
  assert.ok(pairs.length > 0, "the PGD scenario sent pairs");
  // the pair named in the URL: new pairs arrive every second while the PGD scenario runs
  const page = await open(browser, `view=instances&model=${MODEL}&pair=${pairs[0].pairId}`);
  await page.locator(".pair figure").first().waitFor();
  const pair = await api("POST", "inspect-pair", { modelId: MODEL, pairId: pairs[0].pairId,
    against: { reference: "training" }, topK: 5 });
  assert.equal(await page.locator("main select").inputValue(), pairs[0].pairId);
  await page.waitForFunction(() => [...document.querySelectorAll(".pair img")].filter((i) => i.naturalWidth === 28)
    .length === 2);
  assert.equal(await page.locator('.pair figure[data-role="attacked"] figcaption').textContent().then((t) =>
    t.startsWith(`attacked: predicted ${pair.attacked.predictedClass} `)), true);
  assert.equal(await page.locator('.pair figure[data-role="benign"] figcaption').textContent().then((t) =>
    t.startsWith(`benign: predicted ${pair.benign.predictedClass} `)), true);
  assert.equal(await page.locator(".placements .tap").count(), 2 * tapList.length, "a strip per tap and side");
  const rows = await page.locator("table.shifts tr").count();
  const expected = pair.taps.reduce((n, t) => n + (t.excited?.length ?? 0) + (t.inhibited?.length ?? 0), 0);
  assert.equal(rows - 1, expected);
  const firstTap = pair.taps[0];
  const firstRow = await page.locator("table.shifts tr").nth(1).locator("td").allTextContents();
  assert.equal(firstRow[0], firstTap.tap);
  // percentiles come from a merged reference, equal between reads within the sketch's error: the same candidates
  const candidates = [...(firstTap.excited ?? []), ...(firstTap.inhibited ?? [])].map((n) => String(n.neuron));
  assert.ok(candidates.includes(firstRow[2]), `neuron ${firstRow[2]} of ${firstTap.tap} among ${candidates}`);
  for (const viewport of Object.values(VIEWPORTS)) {
    await page.setViewportSize(viewport);
    await assertFits(page, assert);
    await screenshot(page, "instances");
  }
  assert.deepEqual(page.errors, []);
});

test("timeline: each minute per tap, drifting periods outlined, brushing sets B", async () => {
  const page = await open(browser, `view=timeline&model=${MODEL}&span=15`);
  await page.locator("table.timeline").waitFor();
  const heads = await page.locator("table.timeline tr").first().locator("th").allTextContents();
  assert.deepEqual(heads.slice(1).map((h) => h.replace(/ \(monitor > .*\)$/, "")), tapList.map((t) => t.name));
  const threshold = (await api("GET", `monitors?model_id=${MODEL}`)).monitors
    .find((m) => m.name === "training-drift").threshold;
  assert.ok(heads.slice(1).every((h) => h.includes(`(monitor > ${threshold})`)), "each tap's monitor threshold");
  const rows = page.locator("table.timeline tr[data-start]");
  assert.ok(await rows.count() >= 2, "at least two minutes since the platform started");
  assert.ok(await page.locator("table.timeline td.over").count() > 0, "the PGD minutes are over the threshold");
  // the PGD minutes move every layer of the local model jointly (MMD² 0.003-0.014 against the training reference,
  // benign minutes under 0.001): the layer statistic marks some window drifted, and none is without an answer
  assert.ok(await page.locator('table.timeline td[data-layer="drifted"]').count() > 0, "a layer drifted");
  assert.equal(await page.locator('table.timeline td[data-layer="unavailable"]').count(), 0);
  await assertFits(page, assert);
  await screenshot(page, "timeline");

  // live updates redraw the table when a new minute arrives: a drag the redraw cut short is made again on the
  // rows as they are then
  let start;
  let end;
  for (let attempt = 1; ; attempt++) {
    const first = rows.nth(0);
    const second = rows.nth(1);
    start = await first.getAttribute("data-start");
    const secondStart = await second.getAttribute("data-start");
    const fb = await first.locator("th").boundingBox();
    const sb = await second.locator("th").boundingBox();
    end = new Date(Date.parse(secondStart) + 60_000).toISOString().replace(".000Z", "Z");
    if (fb && sb) {
      await page.mouse.move(fb.x + 5, fb.y + fb.height / 2);
      await page.mouse.down();
      await page.mouse.move(sb.x + 5, sb.y + sb.height / 2, { steps: 4 });
      await page.mouse.up();
      try {
        await page.waitForFunction((s) => decodeURIComponent(location.hash).includes(`b=${s}`), `${start}/${end}`,
          { timeout: 5000 });
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    } else if (attempt >= 3) {
      throw new Error("the timeline was redrawn during each of three drags");
    }
    await page.waitForTimeout(500);
  }
  assert.equal(await page.inputValue("#side-b"), `${start}/${end}`);
  // a live redraw between two reads rebuilds the rows: wait for the brushed pair to stand, then count it
  await page.waitForFunction(() => document.querySelectorAll("table.timeline tr.brushed").length === 2, null,
    { timeout: 10_000 }).catch(() => {});
  assert.equal(await page.locator("table.timeline tr.brushed").count(), 2);
  await screenshot(page, "timeline-brushed");
  assert.deepEqual(page.errors, []);
});
