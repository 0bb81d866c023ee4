// Drift timeline: each window against a reference, per tap; monitor thresholds and drifting periods marked;
// brushing windows (drag, or click then shift-click) sets side B to that time range.
import { api, type Monitor } from "../api";
import { choice, empty, h, loading } from "../dom";
import { SPANS, type SelectionText, type State } from "../state";
import { brushedRange, formatNumber, toNumber, viridis } from "../transforms";

/** The window a brush started at (its start), kept across redraws so that a later shift-click extends it. */
let anchorStart: string | null = null;

export async function renderTimeline(main: HTMLElement, state: State, setSpan: (minutes: number) => void,
    setB: (b: SelectionText) => void): Promise<void> {
  if (state.a.kind !== "reference") {
    main.replaceChildren(empty("The timeline compares each window with a reference: set A to ref:NAME."));
    return;
  }
  loading(main);
  const now = new Date();
  const reference = state.a.name;
  const range = { from: new Date(now.getTime() - state.span * 60_000).toISOString(), to: now.toISOString() };
  const [timeline, monitors] = await Promise.all([
    api.timeline({ modelId: state.model, reference, range, metric: "METRIC_KS" }),
    api.monitors(state.model)]);
  const thresholds = new Map<string, Monitor>();
  for (const m of monitors.monitors ?? []) {
    // a fixed threshold only: a calibrated one changes with each window's counts
    if (m.reference === reference && m.metric === "METRIC_KS" && m.mode !== "MONITOR_MODE_CALIBRATED") {
      thresholds.set(m.tap, m);
    }
  }
  const bar = h("p", { class: "controls" }, choice("Span", SPANS.map((s) => ({ value: String(s),
    label: s < 60 ? `last ${s} minutes` : `last ${s / 60} hours` })), String(state.span), (v) => setSpan(Number(v))),
    ` each window against reference ${reference}. Drag over windows (or click one, then shift-click another) to ` +
    `set B to them.`);
  // a window's bounds are Timestamps, which have presence: a point without them cannot be placed
  const points = timeline.points.flatMap((p) => p.window?.start && p.window.end
    ? [{ ...p, window: { start: p.window.start, end: p.window.end } }] : []);
  if (points.length === 0) {
    main.replaceChildren(bar, empty("No window of that span holds observations."));
    return;
  }
  const taps = points[0].taps.map((t) => t.tap);
  const table = h("table", { class: "timeline" }, h("tr", {}, h("th", { scope: "col" }, "window start (UTC)"),
    ...taps.map((t) => h("th", { scope: "col" }, t,
      thresholds.has(t) ? h("span", { class: "threshold" }, ` (monitor > ${formatNumber(thresholds.get(t)?.threshold)})`)
        : ""))));
  const bFrom = state.b.kind === "range" ? Date.parse(state.b.from) : NaN;
  const bTo = state.b.kind === "range" ? Date.parse(state.b.to) : NaN;
  const rows: HTMLTableRowElement[] = [];
  const anchorIndex = () => points.findIndex((p) => p.window.start === anchorStart);
  let dragging = false;
  const mark = (i: number, j: number) => rows.forEach((r, k) =>
    r.classList.toggle("brushed", k >= Math.min(i, j) && k <= Math.max(i, j)));
  const commit = (i: number, j: number) => {
    const r = brushedRange(points.map((p) => p.window), i, j);
    setB({ kind: "range", from: r.from, to: r.to, slice: state.b.slice });
  };
  points.forEach((p, i) => {
    const start = Date.parse(p.window.start);
    const inB = start >= bFrom && Date.parse(p.window.end) <= bTo;
    const when = h("th", { scope: "row", tabindex: "0", title: "click, shift-click or drag to set B" },
      p.window.start.replace("T", " ").replace(/:00Z$/, ""));
    const row = h("tr", { class: inB ? "brushed" : "" }, when);
    row.dataset.start = p.window.start;
    for (const t of taps) {
      const s = p.taps.find((x) => x.tap === t);
      const m = thresholds.get(t);
      const over = !!s && !!m && toNumber(s.mean) > toNumber(m.threshold);
      const cell = h("td", { class: over ? "over" : "" });
      if (s) {
        const drifted = toNumber(s.driftedShare);
        cell.style.background = viridis(drifted);
        cell.style.color = drifted > 0.5 ? "#000" : "#fff";
        // the layer statistic (the tap's neurons together) marks a window it calls drifted with a dot
        const layerDrifted = !!s.layer?.available && !!s.layer.drifted;
        cell.dataset.layer = !s.layer?.available ? "unavailable" : layerDrifted ? "drifted" : "ok";
        cell.textContent = `${formatNumber(s.mean)}${layerDrifted ? " •" : ""}${p.onsetTap === t ? " ◀" : ""}`;
        cell.title = `${t}: mean KS ${formatNumber(s.mean)}, ${formatNumber(100 * drifted)}% of neurons ` +
          `drifted, ${s.countB} observations` + (s.layer?.available ? `; layer MMD² ${formatNumber(s.layer.mmd)}` +
            (layerDrifted ? " (drifted)" : "") : "") + (over ? `; over monitor ${m?.name}'s threshold` : "");
      }
      row.append(cell);
    }
    row.onpointerdown = (e) => {
      e.preventDefault();
      if (e.shiftKey && anchorIndex() >= 0) {
        commit(anchorIndex(), i);
        return;
      }
      anchorStart = p.window.start;
      dragging = true;
      mark(i, i);
    };
    row.onpointerenter = () => {
      if (dragging) mark(anchorIndex(), i);
    };
    row.onpointerup = () => {
      if (dragging) {
        dragging = false;
        commit(anchorIndex(), i);
      }
    };
    when.onkeydown = (e) => {
      if (e.key !== "Enter" && e.key !== " ") return;
      e.preventDefault();
      if (e.shiftKey && anchorIndex() >= 0) commit(anchorIndex(), i);
      else {
        anchorStart = p.window.start;
        mark(i, i);
      }
    };
    rows.push(row);
    table.append(row);
  });
  main.replaceChildren(bar, table, h("p", { class: "legend" }, `Each cell: the tap's mean KS in that window against ` +
    `${reference} (text) and the share of its neurons drifted (colour, dark 0 % to yellow 100 %); outlined: over its ` +
    `monitor's threshold, a drifting period; • the layer statistic (its neurons together) drifted; ◀ the onset tap; ` +
    `highlighted rows: side B.`));
}
