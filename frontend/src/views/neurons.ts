// Neurons of one tap: sorted by the chosen metric, each a small multiple of A and B on shared bins, drawn on
// canvases so that taps of a thousand neurons stay smooth; a neuron's exemplar images on demand.
import { api, type CompareResponse, type NeuronDivergence } from "../api";
import { choice, clock, empty, h, loading } from "../dom";
import { METRICS, selection, type Metric, type State } from "../state";
import { EXCITED, INHIBITED, formatNumber, metricValue, nonFiniteCaption, present, scaleShares, sortByValue,
  toNumber } from "../transforms";

/** Small multiples drawn per page; the next page is one click away. */
const PAGE = 120;
/** Neurons one shapes request may name (the service's limit): the view shows at most these. */
const MAX_SHOWN = 4096;

export interface NeuronsControls {
  driftedOnly: boolean;
  shown: number;
  change: (next: { tap?: string; metric?: Metric; driftedOnly?: boolean; shown?: number }) => void;
}

export async function renderNeurons(main: HTMLElement, state: State, controls: NeuronsControls): Promise<void> {
  loading(main);
  const now = new Date();
  const a = selection(state.a, now);
  const b = selection(state.b, now);
  const compare: CompareResponse = await api.compare({ modelId: state.model, a, b, topK: 1 });
  const compared = compare.taps.filter(present("summary"));
  const taps = compared.map((t) => t.summary.tap);
  const tapName = state.tap && taps.includes(state.tap) ? state.tap : taps[taps.length - 1];
  const tap = compared.find((t) => t.summary.tap === tapName);
  const metricLabel = METRICS.find((m) => m.metric === state.metric)?.label ?? state.metric;
  const box = h("input", { type: "checkbox" });
  box.checked = controls.driftedOnly;
  box.onchange = () => controls.change({ driftedOnly: box.checked, shown: PAGE });
  const bar = h("p", { class: "controls" },
    choice("Tap", taps.map((t) => ({ value: t, label: t })), tapName, (t) => controls.change({ tap: t, shown: PAGE })),
    choice("Metric", METRICS.map((m) => ({ value: m.metric, label: m.label })), state.metric,
      (m) => controls.change({ metric: m as Metric })),
    h("label", {}, box, " drifted only"));
  if (!tap) {
    main.replaceChildren(bar, empty("No tap to show."));
    return;
  }
  const sorted = sortByValue(tap.neurons.map((n) => ({ neuron: n.neuron, value: metricValue({ ...n }, state.metric),
    drifted: n.drifted })), controls.driftedOnly);
  const order = sorted.slice(0, Math.min(MAX_SHOWN, Math.max(PAGE, controls.shown)));
  const undefinedCount = sorted.filter((n) => Number.isNaN(n.value)).length;
  const summary = h("p", { class: "summary" }, `${tapName}: ${tap.neurons.length} neurons, ` +
    `${formatNumber(100 * toNumber(tap.summary.driftedShare))}% drifted (KS past its sketch and sampling bounds by ` +
    `the threshold: at these counts a KS of at least ${formatNumber(tap.summary.smallestDetectableKs)}); showing ` +
    `${order.length} of ` +
    `${sorted.length}${controls.driftedOnly ? " drifted" : ""}, by ${metricLabel}, largest first` +
    (undefinedCount > 0 ? `, then the ${undefinedCount} whose ${metricLabel} is undefined (a side has no finite ` +
      `value)` : "") + `. Grey: A; ` +
    `orange: B above A (excited); blue: B below A (inhibited); x: activation, range under each plot; a notched ` +
    `bar is taller than drawn (a ReLU's zeros); NaN and ±∞ are not drawn but counted under the plot. Click a ` +
    `neuron for the inputs that drive it most.`);
  const exemplars = h("section", { id: "exemplars", "aria-live": "polite" });
  if (order.length === 0) {
    main.replaceChildren(bar, summary, empty(`No neuron of ${tapName} drifted.`));
    return;
  }
  const shapes = await api.shapes({ modelId: state.model, tap: tapName, neurons: order.map((n) => n.neuron), a, b,
    bins: 24 });
  const byNeuron = new Map(shapes.neurons.map((s) => [s.neuron, s]));
  const grid = h("div", { class: "neurons" });
  for (const n of order) {
    const d = tap.neurons[n.neuron];
    const shape = byNeuron.get(n.neuron);
    const edges = shape?.binEdges ?? [];
    // the plot draws finite values only: a side's NaN and infinities are said under it, in its title and its label
    const nonFinite = [nonFiniteCaption("A", shape?.a?.nonFinite ?? d.nonFiniteA, shape?.a?.count ?? d.countA),
      nonFiniteCaption("B", shape?.b?.nonFinite ?? d.nonFiniteB, shape?.b?.count ?? d.countB)].filter((c) => c);
    const undefinedDistance = Number.isNaN(toNumber(d.wasserstein)) || Number.isNaN(toNumber(d.meanShift));
    const cell = h("button", { type: "button", class: "neuron", "data-neuron": String(n.neuron),
      title: `neuron ${n.neuron}: KS ${formatNumber(d.ks)} ± ${formatNumber(d.ksErrorBound)} (sketch) ± ` +
        `${formatNumber(d.ksSamplingBound)} (sampling), W1 ` +
        `${formatNumber(d.wasserstein)}, JS ${formatNumber(d.jensenShannon)}, PSI ${formatNumber(d.psi)}, mean shift ` +
        `${formatNumber(d.meanShift)}` +
        (undefinedDistance ? " (W1 and mean shift undefined: a side has no finite value)" : "") +
        (nonFinite.length > 0 ? `; non-finite values, not drawn: ${nonFinite.join("; ")}` : "") },
      plot(d, shape?.a?.binShares.map(toNumber), shape?.b?.binShares.map(toNumber), nonFinite),
      h("span", { class: "axis" }, `${formatNumber(edges[0])} – ${formatNumber(edges[edges.length - 1])}`),
      ...nonFinite.map((c) => h("span", { class: "nonfinite" }, c)),
      h("span", { class: "caption" }, `#${n.neuron} ${metricLabel} ${formatNumber(metricValue({ ...d }, state.metric))}` +
        `${d.drifted ? " drifted" : ""}`));
    cell.onclick = () => void showExemplars(exemplars, state, tapName, n.neuron);
    grid.append(cell);
  }
  // past the service's limit a request for more would fail the whole view: the rest is for the CLI (nd compare)
  const more = sorted.length > order.length && order.length < MAX_SHOWN
    ? h("button", { type: "button", class: "more" },
      `Show ${Math.min(PAGE, sorted.length - order.length, MAX_SHOWN - order.length)} more`) : "";
  if (more) more.onclick = () => controls.change({ shown: order.length + PAGE });
  main.replaceChildren(bar, summary, exemplars, grid, more);
}

function plot(d: NeuronDivergence, a: number[] | undefined, b: number[] | undefined,
    nonFinite: string[]): HTMLCanvasElement {
  const canvas = h("canvas", { role: "img", "aria-label": `neuron ${d.neuron}: activation distribution of A (grey) ` +
    `and B (${d.direction === "DIRECTION_INHIBITED" ? "blue" : "orange"}) on shared bins` +
    (nonFinite.length > 0 ? `; not drawn: ${nonFinite.join("; ")}` : "") });
  canvas.width = 120;
  canvas.height = 48;
  const g = canvas.getContext("2d");
  if (!g || !a || !b) return canvas;
  const scaled = scaleShares(a, b);
  const w = canvas.width / scaled.a.length;
  g.fillStyle = "rgba(120,120,120,0.55)";
  scaled.a.forEach((v, i) => g.fillRect(i * w, canvas.height * (1 - v), w, canvas.height * v));
  g.fillStyle = d.direction === "DIRECTION_INHIBITED" ? INHIBITED : EXCITED;
  g.globalAlpha = 0.6;
  scaled.b.forEach((v, i) => g.fillRect(i * w, canvas.height * (1 - v), w, canvas.height * v));
  // a clipped spike (a ReLU's zeros) is cut by a white notch: it is taller than drawn
  g.globalAlpha = 1;
  g.fillStyle = "#fff";
  for (const i of scaled.clipped) g.fillRect(i * w, 3, w, 2);
  return canvas;
}

/** The recent inputs that drove a neuron highest, with their images while the recent store keeps them. */
async function showExemplars(section: HTMLElement, state: State, tap: string, neuron: number): Promise<void> {
  // the neuron asked for last: an earlier neuron's answer arriving after it is dropped, not drawn over it
  const asked = `${tap}#${neuron}`;
  section.dataset.exemplarsOf = asked;
  section.replaceChildren(empty(`Loading the exemplars of ${tap} #${neuron}…`));
  try {
    const r = await api.exemplars({ modelId: state.model, tap, neuron, limit: 8 });
    if (section.dataset.exemplarsOf !== asked) return;
    const list = r.exemplars ?? [];
    const close = h("button", { type: "button" }, "Close");
    close.onclick = () => section.replaceChildren();
    section.replaceChildren(h("h2", {}, `Inputs that drive ${tap} #${neuron} highest (last hour) `, close),
      list.length === 0 ? empty("No exemplar in the last hour.") : h("div", { class: "exemplars" },
        ...list.map((e) => h("figure", {},
          e.imagePng ? h("img", { src: `data:image/png;base64,${e.imagePng}`, width: "56", height: "56",
            alt: `input ${e.instanceId}` }) : h("span", { class: "noimage" }, "image expired"),
          h("figcaption", {}, `activation ${formatNumber(e.activation)}` + (e.predictedClass === undefined ? ""
            : `, predicted ${e.predictedClass} at ${clock(e.eventTime)}`))))));
  } catch (e) {
    if (section.dataset.exemplarsOf !== asked) return;
    section.replaceChildren(h("p", { class: "error" }, e instanceof Error ? e.message : String(e)));
  }
}
