// Pure data transforms behind the views: colours, ordering, binning.

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

/** Neurons by value, largest first; ties by neuron index, so the order is stable. */
export function sortByValue(neurons: NeuronValue[], driftedOnly = false): NeuronValue[] {
  return neurons
    .filter((n) => !driftedOnly || n.drifted)
    .slice()
    .sort((x, y) => y.value - x.value || x.neuron - y.neuron);
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

/** Shares (summing to 1) as heights scaled to the tallest of both sides, for overlaid plots. */
export function scaleShares(a: number[], b: number[]): { a: number[]; b: number[] } {
  const max = Math.max(1e-12, ...a, ...b);
  return { a: a.map((v) => v / max), b: b.map((v) => v / max) };
}

/** A number for people: 3 significant digits, or an en dash when missing. */
export function formatNumber(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return "–";
  if (v !== 0 && Math.abs(v) < 0.001) return v.toExponential(1);
  return Number(v.toPrecision(3)).toString();
}
