// Pure data transforms behind the views: colours, ordering, binning.
import type { Double, NonFiniteCounts } from "./api";

/** A colour-blind-safe sequential scale (viridis, 9 stops), 0..1 to an sRGB colour. */
const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];

export function viridis(t: number): string {
  if (!Number.isFinite(t)) return "#bdbdbd";
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  return mix(VIRIDIS[i], VIRIDIS[i + 1], x - i);
}

function mix(a: string, b: string, f: number): string {
  const pa = [1, 3, 5].map((k) => parseInt(a.slice(k, k + 2), 16));
  const pb = [1, 3, 5].map((k) => parseInt(b.slice(k, k + 2), 16));
  return "#" + pa.map((v, i) => Math.round(v + (pb[i] - v) * f).toString(16).padStart(2, "0")).join("");
}

/** Excited (B above A) and inhibited neurons in a colour-blind-safe pair (orange / blue, Okabe-Ito). */
export const EXCITED = "#e69f00";
export const INHIBITED = "#0072b2";

export interface NeuronValue {
  neuron: number;
  value: number;
  drifted: boolean;
}

/**
 * Neurons by value, largest first, and last those whose value is undefined (NaN: W1 or the mean shift of a neuron
 * one side saw no finite value of); ties by neuron index, so the order is stable.
 */
export function sortByValue(neurons: NeuronValue[], driftedOnly = false): NeuronValue[] {
  return neurons
    .filter((n) => !driftedOnly || n.drifted)
    .slice()
    .sort((x, y) => Number(Number.isNaN(x.value)) - Number(Number.isNaN(y.value))
      || (y.value > x.value ? 1 : y.value < x.value ? -1 : 0) || x.neuron - y.neuron);
}

/** Counts values into bins between ascending edges: the first bin [e0, e1], the others (e_i, e_i+1]. */
export function binCounts(values: number[], edges: number[]): number[] {
  const counts = new Array(Math.max(0, edges.length - 1)).fill(0);
  for (const v of values) {
    if (v < edges[0] || v > edges[edges.length - 1]) continue;
    let i = 0;
    while (i < counts.length - 1 && v > edges[i + 1]) i++;
    counts[i]++;
  }
  return counts;
}

/**
 * Shares (summing to 1) as heights for overlaid plots, scaled to the tallest bin of both sides; a bin more than
 * SPIKE times taller than every other (a ReLU's zeros) is clipped at full height instead, so that it does not
 * flatten the rest of the distribution. {@code clipped} lists the bins drawn clipped.
 */
export const SPIKE = 3;

export function scaleShares(a: number[], b: number[]): { a: number[]; b: number[]; clipped: number[] } {
  const tallest = a.map((v, i) => Math.max(v, b[i] ?? 0));
  const sorted = tallest.slice().sort((x, y) => y - x);
  const spike = sorted.length > 1 && sorted[0] > SPIKE * sorted[1] && sorted[1] > 0;
  const max = Math.max(1e-12, spike ? sorted[1] : sorted[0] ?? 0);
  const clipped = spike ? [tallest.indexOf(sorted[0])] : [];
  const scale = (v: number) => Math.min(1, v / max);
  return { a: a.map(scale), b: b.map(scale), clipped };
}

/**
 * A double of the API as a number: protobuf's JSON writes NaN and the infinities as the strings "NaN", "Infinity" and
 * "-Infinity"; missing is NaN.
 */
export function toNumber(v: Double | undefined): number {
  return v === undefined ? Number.NaN : Number(v);
}

/** A number for people: 3 significant digits, ±∞, or an en dash when missing or undefined (NaN, "NaN"). */
export function formatNumber(v: Double | undefined): string {
  const x = toNumber(v);
  if (Number.isNaN(x)) return "–";
  if (!Number.isFinite(x)) return x > 0 ? "+∞" : "−∞";
  if (x !== 0 && Math.abs(x) < 0.001) return x.toExponential(1);
  return Number(x.toPrecision(3)).toString();
}

/**
 * A percentile (0..1) as a colour-blind-safe diverging colour: blue when low, near white at the median, orange
 * when high, so that the neurons an input drives to the tails stand out.
 */
export function diverging(p: number): string {
  if (!Number.isFinite(p)) return "#bdbdbd";
  const x = Math.min(1, Math.max(0, p));
  return x < 0.5 ? mix(INHIBITED, "#f7f7f7", x / 0.5) : mix("#f7f7f7", EXCITED, (x - 0.5) / 0.5);
}

/**
 * A neuron's value of a metric, as the Neurons view ranks it: the size of a mean shift, whatever its sign; NaN where
 * the metric is undefined (W1 and the mean shift when a side has no finite value: "NaN" in the API's JSON).
 */
export function metricValue(n: Record<string, unknown>, metric: string): number {
  const v = toNumber((n[metric] ?? 0) as Double);
  return metric === "meanShift" ? Math.abs(v) : v;
}

/** T with its field K present. */
export type Having<T, K extends keyof T> = T & { [P in K]-?: NonNullable<T[P]> };

/**
 * A filter for the messages that hold field K: a message field (or a Timestamp) has presence, so the API's types say
 * it may be absent even where the service always sets it; a view that cannot draw a message without it leaves that
 * message out rather than fail.
 */
export function present<K extends string>(key: K) {
  return <T extends { [P in K]?: unknown }>(m: T): m is Having<T, K> => m[key] !== undefined;
}

/** A count of the API (int64 travels as a string in protobuf's JSON); 0 when absent. */
function count(v: string | number | undefined): number {
  return v === undefined ? 0 : Number(v);
}

/** How many non-finite values a side holds. */
export function nonFiniteTotal(c: Partial<NonFiniteCounts> | undefined): number {
  return c ? count(c.nan) + count(c.positiveInfinity) + count(c.negativeInfinity) : 0;
}

/** A side's non-finite values for people, "12 NaN, 3 +∞, 1 −∞" (kinds with none left out); empty when none. */
export function formatNonFinite(c: Partial<NonFiniteCounts> | undefined): string {
  if (!c) return "";
  return ([[c.nan, "NaN"], [c.positiveInfinity, "+∞"], [c.negativeInfinity, "−∞"]] as const)
    .filter(([n]) => count(n) > 0).map(([n, word]) => `${count(n)} ${word}`).join(", ");
}

/**
 * The caption of a side's non-finite values under a neuron's plot, which draws only finite values: "B: 3 NaN, 2 +∞
 * (33.3%)" with their share of the side's values, "(all)" when the side has no finite value; empty when none.
 */
export function nonFiniteCaption(side: string, c: Partial<NonFiniteCounts> | undefined,
    finite: string | number | undefined): string {
  const n = nonFiniteTotal(c);
  if (n === 0) return "";
  const f = count(finite);
  return `${side}: ${formatNonFinite(c)} (${f === 0 ? "all" : `${formatNumber(100 * n / (n + f))}%`})`;
}

/** Brushed rows i..j (either order) of consecutive windows as one time range, from the first start to the last end. */
export function brushedRange(windows: { start: string; end: string }[], i: number, j: number): { from: string; to: string } {
  const lo = Math.max(0, Math.min(i, j));
  const hi = Math.min(windows.length - 1, Math.max(i, j));
  return { from: windows[lo].start, to: windows[hi].end };
}

/** The neurons an input placed furthest into either tail: {@code k} lowest and {@code k} highest percentiles. */
export function extremes<T extends { percentile?: Double }>(neurons: T[], k: number): { low: T[]; high: T[] } {
  const sorted = neurons.slice().sort((x, y) => toNumber(x.percentile ?? 0) - toNumber(y.percentile ?? 0));
  return { low: sorted.slice(0, k), high: sorted.slice(-k).reverse() };
}
