// Monitors: every drift monitor with its state per tap, its transitions, and a form to create or change one.
import { ApiError, api, type Monitor, type MonitorDefinition, type MonitorHistory } from "../api";
import { clock, empty, h, loading } from "../dom";
import type { MonitorDefinitionJson } from "../generated/neuraldivergence/v1/comparison_pb";
import { encodeState, sliceKey, type State } from "../state";
import { formatNumber, toNumber } from "../transforms";

/** What the view has open, kept by the caller across live redraws: the form (a name, or "" for a new one). */
export interface MonitorsViewState { editing: string | null; history: string | null; }

/** The span of the value lines, in minutes. */
const LINE_MINUTES = 180;
// mmd: the layer statistic, the tap's neurons together (a fixed threshold, in MMD²)
const METRICS = ["METRIC_KS", "METRIC_WASSERSTEIN", "METRIC_JENSEN_SHANNON", "METRIC_PSI", "METRIC_MEAN_SHIFT", "METRIC_MMD"];

export async function renderMonitors(main: HTMLElement, state: State, open: MonitorsViewState,
    redraw: () => void): Promise<void> {
  loading(main);
  const listed = await api.monitors(state.model);
  const monitors = listed.monitors ?? [];
  const byName = new Map<string, Monitor[]>();
  for (const m of monitors) byName.set(m.name, [...(byName.get(m.name) ?? []), m]);
  // each monitor's evaluations of the last hours, for its line per tap (and the open history's transitions)
  const histories = new Map<string, MonitorHistory>();
  await Promise.all([...byName.keys()].map(async (name) => {
    const h = await api.monitorHistory(name, LINE_MINUTES).catch(() => null);
    if (h) histories.set(name, h);
  }));
  const history = open.history ? histories.get(open.history) ?? null : null;
  // an open form is kept as the user left it: a live redraw must not wipe what is being typed; but a form of another
  // model or monitor (the model switched, Edit on another row) is made anew, or it would save into the one it was for
  const kept = main.querySelector<HTMLFormElement>("form.monitor-form");
  const form = open.editing === null ? null
    : kept && kept.dataset.model === state.model && kept.dataset.editing === open.editing ? kept
    : monitorForm(state, open, byName.get(open.editing)?.[0]?.definition, redraw);
  const list = byName.size === 0 ? empty(`No monitor watches ${state.model} yet: create one.`)
    : h("table", { class: "monitors", "aria-label": "monitors" },
      h("tr", {}, ...["monitor", "tap", "state", "value", `last ${LINE_MINUTES / 60} h`, "threshold", "window",
        "reference", "defined", ""].map((c) => h("th", { scope: "col" }, c))),
      ...[...byName.values()].flatMap((rows) => rows.map((m, i) => row(m, i === 0, open, redraw,
        histories.get(m.name)))));
  main.replaceChildren(
    h("p", { class: "controls" }, `Drift monitors of ${state.model}: each compares every minute of a tap with its ` +
      "reference and turns DRIFTING after its windows in a row over the threshold. ",
    open.editing === null ? button("New monitor", "new-monitor", () => {
      open.editing = "";
      redraw();
    }) : ""),
    ...(form ? [form] : []), list, ...(history ? [historyTable(history, state)] : []));
}

function button(label: string, name: string, onClick: () => void): HTMLButtonElement {
  const b = h("button", { type: "button", name }, label);
  b.onclick = onClick;
  return b;
}

/**
 * The threshold and the windows in a row; a calibrated monitor's threshold part by part (minimum effect + null
 * quantile + sketch bound, at the newest window's counts) and the smallest effect it detects there.
 */
export function thresholdText(m: Monitor): (string | HTMLElement)[] {
  const c = m.calibration;
  if (!c) return [`${formatNumber(m.threshold)} × ${m.windowsInARow}`];
  const alpha = toNumber(c.alpha).toExponential(1);
  return [h("span", { class: "calibrated", title: `false-alarm rate per evaluation ${alpha}` },
    `${formatNumber(m.thresholdApplied)} × ${m.windowsInARow}`),
  h("small", {}, ` = effect ${formatNumber(c.minimumEffect)} + null ${formatNumber(c.nullQuantile)} + sketch ` +
    `${formatNumber(c.sketchBound)}; detects ${formatNumber(c.smallestDetectableEffect)}` +
    // the reference was sealed moments ago: its resampled null is being computed, the analytic bound stands in
    (c.calibrating ? "; calibrating (analytic null until the reference's is computed)" : ""))];
}

/** A monitor's state on a tap, in words (as the Overview's badges say it too). */
export function stateText(m: Monitor): string {
  switch (m.state) {
    case "MONITOR_STATE_DRIFTING": return `DRIFTING since ${m.sinceLowerBound ? "≤ " : ""}${clock(m.since)}`;
    case "MONITOR_STATE_INSUFFICIENT_DATA": return "insufficient data";
    case "MONITOR_STATE_INVALID": return `invalid: ${m.reason}`;
    default: return m.since ? `ok since ${clock(m.since)}` : "ok";
  }
}

/** The tap's evaluated values (gaps where there was none) as a line, with the threshold as a dashed one. */
function valueLine(history: MonitorHistory | undefined, tap: string, threshold: number): Element {
  const width = 160;
  const height = 28;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("class", "value-line");
  const points = (history?.evaluations ?? []).filter((e) => e.tap === tap && e.value !== undefined)
    .map((e) => ({ t: Date.parse(e.window?.to ?? ""), v: toNumber(e.value) }))
    .filter((p) => !Number.isNaN(p.t) && Number.isFinite(p.v));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${points.length} evaluations of ${tap} against threshold ${threshold}`);
  if (points.length === 0) return svg;
  const end = Date.now();
  const start = end - LINE_MINUTES * 60_000;
  const top = Math.max(threshold * 1.5, ...points.map((p) => p.v)) || 1;
  const x = (t: number) => ((t - start) / (end - start)) * width;
  const y = (v: number) => height - 1 - (v / top) * (height - 2);
  const line = (d: string, cls: string) => {
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", d);
    path.setAttribute("class", cls);
    svg.append(path);
  };
  line(`M0 ${y(threshold)} H${width}`, "threshold");
  line(points.map((p, i) => `${i === 0 ? "M" : "L"}${x(p.t).toFixed(1)} ${y(p.v).toFixed(1)}`).join(" "), "value");
  return svg;
}

function row(m: Monitor, first: boolean, open: MonitorsViewState, redraw: () => void,
    history: MonitorHistory | undefined): HTMLElement {
  const d = m.definition;
  const fromConfig = d?.source === "MONITOR_SOURCE_CONFIG";
  const drifting = m.state === "MONITOR_STATE_DRIFTING";
  const actions = !first ? [] : [
    button("History", "history", () => {
      open.history = m.name;
      redraw();
    }),
    ...(fromConfig ? [] : [button("Edit", "edit", () => {
      open.editing = m.name;
      redraw();
    }), button("Delete", "delete", async () => {
      if (!confirm(`Delete monitor ${m.name} and its history?`)) return;
      try {
        await api.deleteMonitor(m.name);
      } catch (err) {
        // a read-only token's 403, a monitor deleted meanwhile: said, not lost in the console
        alert(`Monitor ${m.name} was not deleted: ${err instanceof ApiError ? `${err.code}: ${err.message}`
          : String(err)}`);
        return;
      }
      if (open.history === m.name) open.history = null;
      redraw();
    })]),
  ];
  return h("tr", { "data-monitor": m.name, "data-tap": m.tap, "data-state": m.state },
    h("td", {}, first ? m.name : ""), h("td", {}, m.tap),
    h("td", {}, h("span", { class: "monitor " + (drifting ? "drifting" : "ok") }, stateText(m))),
    h("td", {}, m.currentValue === undefined ? "–" : formatNumber(m.currentValue)),
    h("td", {}, valueLine(history, m.tap, toNumber(m.thresholdApplied || m.threshold))),
    h("td", {}, ...thresholdText(m)),
    h("td", {}, m.window ? `${clock(m.window.from)}–${clock(m.window.to)}, ${m.windowObservations} obs.` : "–"),
    h("td", {}, m.reference),
    h("td", {}, fromConfig ? "configuration" : `API, by ${d?.updatedBy ?? "?"}`),
    h("td", {}, ...actions));
}

function historyTable(history: MonitorHistory, state: State): HTMLElement {
  const transitions = history.transitions ?? [];
  return h("section", { class: "history", "aria-label": `history of ${history.monitor?.name}` },
    h("h2", {}, `History of ${history.monitor?.name}`),
    transitions.length === 0 ? empty("No transition yet.") : h("table", {},
      h("tr", {}, ...["#", "tap", "became", "since", "value", "threshold", "was", "window", "top neurons"].map((c) =>
        h("th", { scope: "col" }, c))),
      ...transitions.map((t) => h("tr", { "data-transition": t.id, "data-state": t.monitor?.state ?? "" },
        h("td", {}, t.id), h("td", {}, t.monitor?.tap ?? ""),
        h("td", {}, (t.monitor?.state ?? "").replace("MONITOR_STATE_", "").toLowerCase()),
        h("td", {}, `${clock(t.monitor?.since)}${t.monitor?.sinceLowerBound ? " or earlier" : ""}`),
        h("td", {}, formatNumber(t.monitor?.currentValue)),
        h("td", {}, formatNumber(t.monitor?.thresholdApplied || t.monitor?.threshold)),
        h("td", {}, t.previousState.replace("MONITOR_STATE_", "").toLowerCase()),
        h("td", {}, t.monitor?.window ? `${clock(t.monitor.window.from)}–${clock(t.monitor.window.to)}` : "–"),
        h("td", {}, ...look(t, state))))));
}

/**
 * Where to look: the transition's top drifted neurons, and a link to the Neurons view of its deciding window against
 * the monitor's reference, on its tap and in its slice.
 */
function look(t: NonNullable<MonitorHistory["transitions"]>[number], state: State): (Element | string)[] {
  const m = t.monitor;
  const neurons = (t.topNeurons ?? []).join(", ");
  if (!m?.window?.from || !m.window.to) return [neurons || "–"];
  const slice = sliceKey(m.slice);
  const href = "#" + encodeState({ ...state, view: "neurons", model: m.modelId, tap: m.tap,
    a: { kind: "reference", name: m.reference, slice },
    b: { kind: "range", from: m.window.from, to: m.window.to, slice } });
  return [neurons ? `${neurons} ` : "", h("a", { href, class: "look" }, "Neurons view")];
}

/**
 * The form of a new monitor ({@code current} absent) or of one to change: a fixed threshold, or a calibrated one from
 * a minimum effect and a false-alarm budget.
 */
function monitorForm(state: State, open: MonitorsViewState, current: MonitorDefinition | undefined,
    redraw: () => void): HTMLFormElement {
  const field = (label: string, name: string, value: string, attrs: Record<string, string> = {}) =>
    h("label", {}, `${label} `, h("input", { name, value, ...attrs }));
  const metric = h("select", { name: "metric" }, ...METRICS.map((m) =>
    h("option", { value: m }, m.replace("METRIC_", "").toLowerCase())));
  metric.value = current?.metric ?? "METRIC_KS";
  const mode = h("select", { name: "mode" }, h("option", { value: "MONITOR_MODE_FIXED" }, "fixed"),
    h("option", { value: "MONITOR_MODE_CALIBRATED" }, "calibrated (ks or mmd)"));
  mode.value = current?.mode === "MONITOR_MODE_CALIBRATED" ? "MONITOR_MODE_CALIBRATED" : "MONITOR_MODE_FIXED";
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "monitor-form", "aria-label": current ? `edit ${current.name}` : "new monitor",
      "data-model": state.model, "data-editing": open.editing ?? "" },
    field("Name", "name", current?.name ?? "", current ? { readonly: "" }
      : { required: "", pattern: "[A-Za-z0-9][A-Za-z0-9._-]{0,62}" }),
    field("Tap", "tap", current?.tap ?? "*"),
    field("Reference", "reference", current?.reference ?? "training"),
    h("label", {}, "Metric ", metric),
    h("label", {}, "Mode ", mode),
    field("Threshold", "threshold", String(current?.threshold ?? 0.15), { type: "number", step: "any", min: "0" }),
    field("Minimum effect", "minimumEffect", String(current?.minimumEffect ?? 0.05),
      { type: "number", step: "any", min: "0", max: "1" }),
    field("False alarms / 30 days", "falseAlarmBudget", String(current?.falseAlarmBudget ?? 1),
      { type: "number", step: "any", min: "0" }),
    field("Windows in a row", "windowsInARow", String(current?.windowsInARow ?? 2),
      { type: "number", min: "1", max: "60" }),
    field("Min observations", "minObservations", String(current?.minObservations ?? 200),
      { type: "number", min: "1" }),
    field("Max span (min)", "maxSpanMinutes", String(current?.maxSpanMinutes ?? 60),
      { type: "number", min: "1", max: "1440" }),
    h("button", { type: "submit" }, current ? "Save" : "Create"),
    button("Cancel", "cancel", () => {
      open.editing = null;
      form.remove();
      redraw();
    }), error);
  // a new layer monitor (mmd) starts from the layer's defaults, in MMD²: threshold 0.005, minimum effect 0.001
  metric.onchange = () => {
    if (current) return;
    const input = (name: string) => form.elements.namedItem(name) as HTMLInputElement;
    const layer = metric.value === "METRIC_MMD";
    input("threshold").value = layer ? "0.005" : "0.15";
    input("minimumEffect").value = layer ? "0.001" : "0.05";
  };
  form.onsubmit = async (e) => {
    e.preventDefault();
    const v = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value.trim();
    const definition: MonitorDefinitionJson = {
      name: v("name"), modelId: state.model, tap: v("tap"), reference: v("reference"),
      metric: metric.value as MonitorDefinitionJson["metric"], mode: mode.value as MonitorDefinitionJson["mode"],
      threshold: Number(v("threshold")), minimumEffect: Number(v("minimumEffect")),
      falseAlarmBudget: Number(v("falseAlarmBudget")), windowsInARow: Number(v("windowsInARow")),
      minObservations: v("minObservations"), maxSpanMinutes: Number(v("maxSpanMinutes")),
      slice: current?.slice ?? { all: true },
    };
    try {
      if (current) await api.updateMonitor(current.name, definition);
      else await api.createMonitor(definition);
      open.editing = null;
      form.remove();
      redraw();
    } catch (err) {
      error.textContent = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
    }
  };
  return form;
}
