// Instances: a benign/attacked pair (or an uploaded digit, sent through inference) placed neuron by neuron in the
// reference: the images, predictions, a percentile strip per tap, and the neurons moved most.
import { api, ApiError, predictPng, type InstanceInspection, type PairInspection, type Selection } from "../api";
import { choice, clock, empty, h, loading, strip } from "../dom";
import { selection, type State } from "../state";
import { EXCITED, INHIBITED, diverging, extremes, formatNumber, toNumber } from "../transforms";

/** How long an upload may take to travel inference → Kafka → aggregator → recent store before we give up. */
const UPLOAD_WAIT_MS = 30_000;

export async function renderInstances(main: HTMLElement, state: State, pick: (pairId: string) => void): Promise<void> {
  loading(main);
  const [pairsAnswer, settings] = await Promise.all([api.pairs(state.model), api.uiSettings()]);
  const pairs = pairsAnswer.pairs ?? [];
  const against: Selection = state.a.kind === "reference" ? { reference: state.a.name }
    : selection(state.a, new Date());
  const upload = uploadSection(state, settings.inferenceUrl, against);
  if (pairs.length === 0) {
    main.replaceChildren(upload, empty("No benign/attacked pair is in the recent-observation store yet."));
    return;
  }
  const options = pairs.map((p) => ({ value: p.pairId,
    label: p.eventTime ? `${p.pairId} (${p.eventTime.replace("T", " ").slice(0, 19)})` : p.pairId }));
  // A pair named in the URL (a shared link) stays chosen while the store keeps it, even after newer pairs have
  // pushed it out of the list's newest few; once expired, the newest pair is shown and the page says why.
  let chosen = pairs[0].pairId;
  let p: PairInspection | undefined;
  let note: HTMLElement | undefined;
  if (state.pair && state.pair !== chosen) {
    try {
      p = await api.inspectPair({ modelId: state.model, pairId: state.pair, against, topK: 5 });
      chosen = state.pair;
      if (!pairs.some((x) => x.pairId === chosen)) options.push({ value: chosen, label: `${chosen} (older)` });
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
      note = empty(`Pair ${state.pair} is no longer in the recent-observation store; showing the newest.`);
    }
  }
  const bar = h("p", { class: "controls" }, choice("Pair", options, chosen, pick),
    ` placed against ${state.a.kind === "reference" ? `reference ${state.a.name}` : "side A"}.`);
  p ??= await api.inspectPair({ modelId: state.model, pairId: chosen, against, topK: 5 });
  // the service answers with both members or not at all (not found)
  if (!p.benign || !p.attacked) throw new Error(`The answer for pair ${chosen} lacks a member.`);
  const [benign, attacked] = await Promise.all([
    api.inspectInstance({ modelId: state.model, instanceId: p.benign.instanceId, against }),
    api.inspectInstance({ modelId: state.model, instanceId: p.attacked.instanceId, against })]);
  const sides = h("div", { class: "pair" });
  for (const [role, s, placed] of [["benign", p.benign, benign], ["attacked", p.attacked, attacked]] as const) {
    sides.append(h("figure", { "data-role": role },
      s.imagePng ? h("img", { src: `data:image/png;base64,${s.imagePng}`, width: "112", height: "112",
        alt: `${role} input, predicted ${s.predictedClass}` }) : empty("image expired"),
      h("figcaption", {}, `${role}: predicted ${s.predictedClass} (${formatNumber(100 * toNumber(s.confidence))}%), ` +
        `anomaly score ${formatNumber(placed.anomalyScore)}`)));
  }
  const table = h("table", { class: "shifts" }, h("tr", {}, ...["tap", "moved", "neuron", "benign", "attacked",
    "percentile benign → attacked"].map((c) => h("th", { scope: "col" }, c))));
  for (const t of p.taps ?? []) {
    for (const [dir, list] of [["excited", t.excited ?? []], ["inhibited", t.inhibited ?? []]] as const) {
      for (const n of list) {
        const moved = h("td", {}, dir);
        moved.style.color = dir === "excited" ? EXCITED : INHIBITED;
        table.append(h("tr", {}, h("td", {}, t.tap), moved, h("td", {}, String(n.neuron)),
          h("td", {}, formatNumber(n.benignActivation)), h("td", {}, formatNumber(n.attackedActivation)),
          h("td", {}, `${formatNumber(100 * toNumber(n.benignPercentile))}% → ` +
            `${formatNumber(100 * toNumber(n.attackedPercentile))}%`)));
      }
    }
  }
  main.replaceChildren(upload, ...(note ? [note] : []), bar, sides, percentileStrips([["benign", benign], ["attacked", attacked]]),
    h("h2", {}, "Neurons the attack moved most, per tap"), table);
}

/** Which blocks of a wide tap the store did not keep for this input: their neurons are not in the strip. */
function missingNote(placed?: { missingBlocks?: number[]; blockSize?: number }): string {
  const missing = placed?.missingBlocks ?? [];
  if (missing.length === 0) {
    return "";
  }
  return ` · neurons of block${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (${placed?.blockSize} each) ` +
    "not kept for this input, left out";
}

/** One row per tap and instance: each neuron's percentile in the reference, blue low, orange high. */
function percentileStrips(rows: [string, InstanceInspection][]): HTMLElement {
  const out = h("div", { class: "placements" });
  const taps = rows[0][1].taps ?? [];
  for (const t of taps) {
    for (const [role, inspection] of rows) {
      const placed = (inspection.taps ?? []).find((x) => x.tap === t.tap);
      const neurons = placed?.neurons ?? [];
      out.append(h("div", { class: "tap", "data-tap": t.tap, "data-role": role },
        h("span", { class: "name" }, `${t.tap} ${role}`),
        strip(neurons.map((n) => toNumber(n.percentile)), diverging,
          `percentiles of the ${neurons.length} neurons of ${t.tap} for the ${role} input`),
        h("span", { class: "stats" }, `anomaly ${formatNumber(placed?.anomalyScore)}` + missingNote(placed))));
    }
  }
  out.append(h("p", { class: "legend" }, "Each cell is a neuron, in order: its activation's percentile in the " +
    "reference, blue near 0 %, white at 50 %, orange near 100 %. Anomaly score: the mean tail surprise, about 1 for " +
    "a typical input."));
  return out;
}

/** Upload a PNG digit: it goes through inference like any request, then is inspected once the aggregator has it. */
function uploadSection(state: State, inferenceUrl: string, against: Selection): HTMLElement {
  const section = h("section", { class: "upload", id: "upload" });
  if (!inferenceUrl) {
    section.append(h("p", { class: "empty" }, "Upload is off: the comparison service has no ND_UI_INFERENCE_URL."));
    return section;
  }
  const input = h("input", { type: "file", accept: "image/png", id: "upload-file" });
  const result = h("div", { class: "uploaded", "aria-live": "polite" });
  input.onchange = () => {
    const file = input.files?.[0];
    if (file) void upload(file, state, inferenceUrl, against, result);
  };
  section.append(h("label", {}, "Upload a digit (PNG, sent through inference) ", input), result);
  return section;
}

async function upload(file: File, state: State, inferenceUrl: string, against: Selection, result: HTMLElement) {
  result.replaceChildren(empty(`Sending ${file.name} to inference…`));
  try {
    const prediction = await predictPng(inferenceUrl, file);
    const url = URL.createObjectURL(file);
    const image = h("img", { src: url, width: "112", height: "112", alt: "uploaded input" });
    // the image's bytes are the page's until revoked: once drawn, the element holds what it shows
    image.onload = () => URL.revokeObjectURL(url);
    const caption = `uploaded: predicted ${prediction.predictedClass} ` +
      `(${formatNumber(100 * prediction.confidence)}%), instance ${prediction.instanceId}`;
    result.replaceChildren(h("figure", {}, image, h("figcaption", {}, caption)),
      empty(`Waiting for the aggregator to store it (capture ${prediction.capture})…`));
    const deadline = Date.now() + UPLOAD_WAIT_MS;
    for (;;) {
      try {
        const placed = await api.inspectInstance({ modelId: state.model, instanceId: prediction.instanceId, against });
        const extremesTable = h("table", { class: "shifts" }, h("tr", {}, ...["tap", "neuron", "activation",
          "percentile"].map((c) => h("th", { scope: "col" }, c))));
        for (const t of placed.taps ?? []) {
          const e = extremes(t.neurons ?? [], 2);
          for (const n of [...e.high, ...e.low]) {
            extremesTable.append(h("tr", {}, h("td", {}, t.tap), h("td", {}, String(n.neuron)),
              h("td", {}, formatNumber(n.activation)), h("td", {}, `${formatNumber(100 * toNumber(n.percentile))}%`)));
          }
        }
        result.replaceChildren(h("figure", {}, image, h("figcaption", {}, `${caption}, anomaly score ` +
          `${formatNumber(placed.anomalyScore)} (stored ${clock(new Date().toISOString())})`)),
          percentileStrips([["uploaded", placed]]), h("h2", {}, "Its neurons furthest in each tail"), extremesTable);
        return;
      } catch (e) {
        // only a not-yet-stored instance is worth asking again; a refusal (400, 401, 403) stays one; and a view left
        // meanwhile (the result no longer on the page) stops asking
        const refused = e instanceof ApiError && (e.status === 401 || e.status === 403
          || e.status === 400 && e.code !== "FAILED_PRECONDITION");
        const waiting = !refused;
        if (!waiting || Date.now() > deadline || !result.isConnected) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  } catch (e) {
    result.replaceChildren(h("p", { class: "error" }, `Upload failed: ${e instanceof Error ? e.message : String(e)}`));
  }
}
