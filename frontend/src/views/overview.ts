// Overview: for A against B, one divergence strip per tap in network order, the onset tap and the monitors' verdicts.
import { api, type CompareResponse, type Monitor, type Reference } from "../api";
import { clock, h, loading, strip } from "../dom";
import { stateText } from "./monitors";
import { formatSelection, selection, type State } from "../state";
import { formatNumber, present, toNumber, viridis, type Having } from "../transforms";

export async function renderOverview(main: HTMLElement, state: State): Promise<void> {
  loading(main);
  const now = new Date();
  // one comparison per redraw: its answer holds every tap's neurons and the onset tap (the default onset share, as
  // the layer overview's)
  const [compare, monitors, references] = await Promise.all([
    api.compare({ modelId: state.model, a: selection(state.a, now), b: selection(state.b, now) }),
    api.monitors(state.model), api.references(state.model)]);
  const byTap = new Map<string, Monitor[]>();
  for (const m of monitors.monitors ?? []) byTap.set(m.tap, [...(byTap.get(m.tap) ?? []), m]);
  const drifting = (monitors.monitors ?? []).filter((m) => m.state === "MONITOR_STATE_DRIFTING").length;
  main.replaceChildren(
    h("p", { class: "heading" }, `${state.model} ${compare.modelVersion}: A = ${formatSelection(state.a)}, ` +
      `B = ${formatSelection(state.b)}. `, h("span", { class: "updated" }, `Updated ${clock(now.toISOString())} UTC.`),
      drifting > 0 ? h("strong", { class: "alarm" }, ` ${drifting} tap monitor(s) drifting.`) : ""),
    ...compare.taps.filter(present("summary")).map((t) => tapRow(t, t.summary.tap === compare.onsetTap,
      byTap.get(t.summary.tap) ?? [])),
    h("p", { class: "legend" }, "Each cell is a neuron, in order; colour is its KS statistic between A and B " +
      "(dark 0, yellow 1). Drifted: KS minus its error bound above 0.1. Monitors compare each minute with their " +
      "reference; DRIFTING when the tap's mean is over their threshold."),
    referenceList(references.references ?? [], now),
  );
}

/**
 * The model's references and their state: a sealed one never changes; one building for long was left so by an
 * interrupted replay (the run command builds it again).
 */
function referenceList(references: Reference[], now: Date): HTMLElement {
  return h("ul", { class: "references", "aria-label": "references" }, ...references.map((r) => {
    const count = r.observationCount ?? "0";
    const sealed = r.state === "REFERENCE_STATE_SEALED";
    // int64 travels as a string, printed even at 0: "0" is no shortfall
    const short = Number(r.shortfall) > 0 ? `, ${r.shortfall} short of its expected count` : "";
    const age = r.createdAt ? ` for ${Math.max(0, Math.round((now.getTime() - Date.parse(r.createdAt)) / 60000))} min`
      : "";
    const state = sealed ? `sealed ${clock(r.sealedAt ?? r.createdAt)} UTC${short}` : `building${age}`;
    return h("li", { "data-reference": r.name, "data-state": sealed ? "sealed" : "building" },
      `reference ${r.name} (${r.modelVersion}): ${state}, ${count} observations`);
  }));
}

function tapRow(tap: Having<CompareResponse["taps"][number], "summary">, onset: boolean,
    monitors: Monitor[]): HTMLElement {
  const s = tap.summary;
  const badges = monitors.map((m) => {
    const drifting = m.state === "MONITOR_STATE_DRIFTING";
    return h("span", {
      class: "monitor " + (drifting ? "drifting" : "ok"),
      title: `monitor ${m.name}: ${m.metric === "METRIC_MMD" ? "the layer's MMD²"
        : "mean " + m.metric.replace("METRIC_", "").toLowerCase()} of the newest complete ` +
        `evaluation against ${m.reference} ${formatNumber(m.currentValue)}, threshold ` +
        formatNumber(m.calibration ? m.thresholdApplied : m.threshold) + (m.calibration ? " (calibrated)" : ""),
    }, stateText(m));
  });
  return h("div", { class: "tap" + (onset ? " onset" : ""), "data-tap": s.tap },
    h("span", { class: "name" }, s.tap),
    strip(tap.neurons.map((n) => toNumber(n.ks)), viridis, `KS of the ${tap.neurons.length} neurons of ${s.tap}`),
    h("span", { class: "stats" }, `${formatNumber(100 * toNumber(s.driftedShare))}% drifted, ` +
      `mean KS ${formatNumber(s.mean)}, B ${s.countB} obs.`),
    layerBadge(s.layer),
    h("span", { class: "monitors" }, ...badges));
}

/**
 * The layer statistic (the tap's neurons together, MMD²): "layer drifted" when it passes its threshold, "layer ok",
 * or "layer n/a" with the reason in its title.
 */
function layerBadge(layer: Having<CompareResponse["taps"][number], "summary">["summary"]["layer"]): HTMLElement {
  const state = !layer?.available ? "unavailable" : layer.drifted ? "drifted" : "ok";
  const title = !layer?.available ? `layer statistic unavailable: ${layer?.unavailableReason ?? "no answer"}`
    : `layer statistic (all neurons together): MMD² ${formatNumber(layer.mmd)}, threshold ` +
      `${formatNumber(layer.threshold)} = minimum effect ${formatNumber(layer.minimumEffect)} + null ` +
      `${formatNumber(layer.nullQuantile)} at these counts` + (layer.nullResampled ? " (resampled from side A's " +
      "calibration sample)" : layer.calibrating ? " (analytic: the reference is calibrating, its resampled null " +
      "follows within a minute)" : " (analytic bound)");
  return h("span", { class: "layer " + state, "data-state": state, title },
    state === "unavailable" ? "layer n/a" : `layer ${state === "drifted" ? "drifted" : "ok"}`);
}
