// The UI's state lives in the URL (after "#"), so that a view can be shared by link.
import type { Selection, Slice } from "./api";

/**
 * A selection as a user writes it (ref:NAME, last:15m or FROM/TO, then @SLICE): the API's Selection before a
 * relative range is resolved at request time.
 */
export type SelectionText =
  | { kind: "reference"; name: string; slice: string }
  | { kind: "last"; minutes: number; slice: string }
  | { kind: "range"; from: string; to: string; slice: string };

export type View = "overview" | "neurons" | "classes" | "instances" | "timeline" | "monitors";

/** The per-neuron metrics of the API's NeuronDivergence, by their JSON field names. */
export type Metric = "ks" | "wasserstein" | "jensenShannon" | "psi" | "meanShift";
export const METRICS: { metric: Metric; label: string }[] = [
  { metric: "ks", label: "KS" },
  { metric: "wasserstein", label: "Wasserstein-1" },
  { metric: "jensenShannon", label: "Jensen-Shannon" },
  { metric: "psi", label: "PSI" },
  { metric: "meanShift", label: "mean shift" },
];

export interface State {
  view: View;
  model: string;
  a: SelectionText;
  b: SelectionText;
  tap: string;
  metric: Metric;
  /** The timeline's length in minutes, ending now. */
  span: number;
  /** The chosen benign/attacked pair of the Instances view; empty: the latest. */
  pair: string;
}

export const DEFAULT_STATE: State = {
  view: "overview",
  model: "",
  a: { kind: "reference", name: "training", slice: "all" },
  b: { kind: "last", minutes: 15, slice: "all" },
  tap: "",
  metric: "ks",
  span: 60,
  pair: "",
};

/** Timeline lengths offered, in minutes. */
export const SPANS = [15, 60, 360, 1440];

const VIEWS: View[] = ["overview", "neurons", "classes", "instances", "timeline", "monitors"];

/** A selection as text: ref:NAME, last:15m or FROM/TO, then @SLICE unless all (the CLI's syntax too). */
export function formatSelection(s: SelectionText): string {
  const source =
    s.kind === "reference" ? `ref:${s.name}` : s.kind === "last" ? `last:${s.minutes}m` : `${s.from}/${s.to}`;
  return s.slice === "all" ? source : `${source}@${s.slice}`;
}

export function parseSelection(text: string): SelectionText {
  const at = text.indexOf("@");
  const source = at < 0 ? text : text.slice(0, at);
  const slice = at < 0 ? "all" : text.slice(at + 1);
  if (source.startsWith("ref:") && source.length > 4) {
    return { kind: "reference", name: source.slice(4), slice };
  }
  // the CLI's durations too (last:2h, last:7d): a link or a habit from the command line reads the same here
  const last = /^last:(\d+)(s|m|h|d)$/.exec(source);
  if (last) {
    const perMinute = { s: 1 / 60, m: 1, h: 60, d: 1440 }[last[2] as "s" | "m" | "h" | "d"];
    return { kind: "last", minutes: Math.max(1, Math.ceil(Number(last[1]) * perMinute)), slice };
  }
  const slash = source.indexOf("/");
  if (slash > 0 && !Number.isNaN(Date.parse(source.slice(0, slash))) && !Number.isNaN(Date.parse(source.slice(slash + 1)))) {
    return { kind: "range", from: source.slice(0, slash), to: source.slice(slash + 1), slice };
  }
  throw new Error(`not a selection: '${text}' (ref:NAME, last:15m or FROM/TO, then @SLICE)`);
}

export function encodeState(s: State): string {
  const p = new URLSearchParams();
  p.set("view", s.view);
  if (s.model) p.set("model", s.model);
  p.set("a", formatSelection(s.a));
  p.set("b", formatSelection(s.b));
  if (s.tap) p.set("tap", s.tap);
  if (s.metric !== DEFAULT_STATE.metric) p.set("metric", s.metric);
  if (s.span !== DEFAULT_STATE.span) p.set("span", String(s.span));
  if (s.pair) p.set("pair", s.pair);
  return p.toString();
}

/** Reads the state from a URL fragment; what is missing or unreadable falls back to the defaults. */
export function decodeState(fragment: string): State {
  const p = new URLSearchParams(fragment.replace(/^#/, ""));
  const view = p.get("view") as View | null;
  const side = (key: string, fallback: SelectionText): SelectionText => {
    const v = p.get(key);
    if (!v) return fallback;
    try {
      return parseSelection(v);
    } catch {
      return fallback;
    }
  };
  return {
    view: view && VIEWS.includes(view) ? view : DEFAULT_STATE.view,
    model: p.get("model") ?? "",
    a: side("a", DEFAULT_STATE.a),
    b: side("b", DEFAULT_STATE.b),
    tap: p.get("tap") ?? "",
    metric: METRICS.some((m) => m.metric === p.get("metric")) ? (p.get("metric") as Metric) : DEFAULT_STATE.metric,
    span: SPANS.includes(Number(p.get("span"))) ? Number(p.get("span")) : DEFAULT_STATE.span,
    pair: p.get("pair") ?? "",
  };
}

/** The API's Selection (canonical JSON) for a written selection, at time {@code now}. */
export function selection(s: SelectionText, now: Date): Selection {
  const slice = sliceJson(s.slice);
  if (s.kind === "reference") return { reference: s.name, slice };
  if (s.kind === "last") {
    return {
      timeRange: { from: new Date(now.getTime() - s.minutes * 60_000).toISOString(), to: now.toISOString() },
      slice,
    };
  }
  return { timeRange: { from: new Date(s.from).toISOString(), to: new Date(s.to).toISOString() }, slice };
}

/** A slice key (all, predicted=3, label=3, tag:k=v, pair=attacked) as the API's Slice. */
export function sliceJson(key: string): Slice {
  if (key === "all") return { all: true };
  let m = /^predicted=(\d+)$/.exec(key);
  if (m) return { predictedClass: Number(m[1]) };
  m = /^label=(\d+)$/.exec(key);
  if (m) return { trueLabel: Number(m[1]) };
  m = /^tag:([^=]+)=(.+)$/.exec(key);
  if (m) return { tag: { key: m[1], value: m[2] } };
  m = /^pair=(benign|attacked)$/.exec(key);
  if (m) return { pairRole: m[1] === "benign" ? "PAIR_ROLE_BENIGN" : "PAIR_ROLE_ATTACKED" };
  throw new Error(`not a slice: '${key}'`);
}

/** The key of an API Slice (the inverse of sliceJson): all, predicted=3, label=3, tag:k=v or pair=attacked. */
export function sliceKey(slice: Slice | undefined): string {
  if (!slice || slice.all) return "all";
  if (slice.predictedClass !== undefined) return `predicted=${slice.predictedClass}`;
  if (slice.trueLabel !== undefined) return `label=${slice.trueLabel}`;
  if (slice.tag) return `tag:${slice.tag.key}=${slice.tag.value}`;
  if (slice.pairRole) return `pair=${slice.pairRole === "PAIR_ROLE_BENIGN" ? "benign" : "attacked"}`;
  return "all";
}
