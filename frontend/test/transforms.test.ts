import { describe, expect, it } from "vitest";
import { binCounts, brushedRange, diverging, extremes, formatNonFinite, formatNumber, metricValue, nonFiniteCaption,
  nonFiniteTotal, scaleShares, sortByValue, toNumber, viridis } from "../src/transforms";

describe("transforms", () => {
  it("bins like the service: first bin closed, the others open below", () => {
    expect(binCounts([0, 0, 1, 1.5, 2, 3], [0, 0, 2, 3])).toEqual([2, 3, 1]);
    expect(binCounts([5], [0, 1])).toEqual([0]);
  });

  it("sorts neurons by value, stably, and filters the drifted", () => {
    const n = [{ neuron: 0, value: 0.2, drifted: true }, { neuron: 1, value: 0.5, drifted: false },
      { neuron: 2, value: 0.2, drifted: true }];
    expect(sortByValue(n).map((x) => x.neuron)).toEqual([1, 0, 2]);
    expect(sortByValue(n, true).map((x) => x.neuron)).toEqual([0, 2]);
  });

  it("scales both sides to the taller one", () => {
    expect(scaleShares([0.5, 0.5], [0.25, 0.75])).toEqual({ a: [2 / 3, 2 / 3], b: [1 / 3, 1], clipped: [] });
  });

  it("clips a spike (a ReLU's zeros) so that the rest of the distribution stays visible", () => {
    const s = scaleShares([0.8, 0.1, 0.1], [0.7, 0.2, 0.1]);
    expect(s.clipped).toEqual([0]);
    expect(s.a).toEqual([1, 0.5, 0.5]);
    expect(s.b).toEqual([1, 1, 0.5]);
  });

  it("colours from dark to light and grey for missing", () => {
    expect(viridis(0)).toBe("#440154");
    expect(viridis(1)).toBe("#fde725");
    expect(viridis(Number.NaN)).toBe("#bdbdbd");
    expect(formatNumber(0.123456)).toBe("0.123");
    expect(formatNumber(undefined)).toBe("–");
  });

  it("colours percentiles blue low, white at the median, orange high", () => {
    expect(diverging(0)).toBe("#0072b2");
    expect(diverging(0.5)).toBe("#f7f7f7");
    expect(diverging(1)).toBe("#e69f00");
  });

  it("ranks mean shifts by size and reads the other metrics as they are", () => {
    expect(metricValue({ meanShift: -0.7 }, "meanShift")).toBe(0.7);
    expect(metricValue({ psi: 0.2 }, "psi")).toBe(0.2);
    expect(metricValue({}, "ks")).toBe(0);
  });

  it("reads the API's doubles, which protobuf's JSON writes as strings when NaN or infinite", () => {
    expect(toNumber(0.25)).toBe(0.25);
    expect(toNumber("NaN")).toBeNaN();
    expect(toNumber("Infinity")).toBe(Number.POSITIVE_INFINITY);
    expect(toNumber("-Infinity")).toBe(Number.NEGATIVE_INFINITY);
    expect(toNumber(undefined)).toBeNaN();
    expect(formatNumber("NaN")).toBe("–");
    expect(formatNumber(Number.NaN)).toBe("–");
    expect(formatNumber("Infinity")).toBe("+∞");
    expect(formatNumber("-Infinity")).toBe("−∞");
    expect(metricValue({ wasserstein: "NaN" }, "wasserstein")).toBeNaN();
    expect(metricValue({ meanShift: "NaN" }, "meanShift")).toBeNaN();
  });

  it("sorts neurons whose metric is undefined last, whatever the others' values", () => {
    const n = [{ neuron: 0, value: Number.NaN, drifted: true }, { neuron: 1, value: 0, drifted: false },
      { neuron: 2, value: 0.7, drifted: true }, { neuron: 3, value: Number.NaN, drifted: false },
      { neuron: 4, value: 0.2, drifted: true }];
    expect(sortByValue(n).map((x) => x.neuron)).toEqual([2, 4, 1, 0, 3]);
    expect(sortByValue(n, true).map((x) => x.neuron)).toEqual([2, 4, 0]);
    const w = [{ wasserstein: "NaN" as const }, { wasserstein: 1.5 }, { wasserstein: 0.1 }]
      .map((d, neuron) => ({ neuron, value: metricValue(d, "wasserstein"), drifted: false }));
    expect(sortByValue(w).map((x) => x.neuron)).toEqual([1, 2, 0]);
  });

  it("says a side's non-finite values, leaving out the kinds it has none of", () => {
    expect(formatNonFinite({ nan: "12", positiveInfinity: "3", negativeInfinity: "0" })).toBe("12 NaN, 3 +∞");
    expect(formatNonFinite({ negativeInfinity: "1" })).toBe("1 −∞");
    expect(formatNonFinite(undefined)).toBe("");
    expect(nonFiniteTotal({ nan: "12", positiveInfinity: "3" })).toBe(15);
    expect(nonFiniteTotal(undefined)).toBe(0);
    expect(nonFiniteCaption("B", { nan: "3", positiveInfinity: "2" }, "10")).toBe("B: 3 NaN, 2 +∞ (33.3%)");
    expect(nonFiniteCaption("B", { nan: "15" }, "0")).toBe("B: 15 NaN (all)");
    expect(nonFiniteCaption("A", { nan: "0", positiveInfinity: "0", negativeInfinity: "0" }, "10")).toBe("");
    expect(nonFiniteCaption("A", undefined, "10")).toBe("");
  });

  it("turns brushed windows into one range whichever way the brush went", () => {
    const w = [{ start: "t0", end: "t1" }, { start: "t1", end: "t2" }, { start: "t2", end: "t3" }];
    expect(brushedRange(w, 2, 1)).toEqual({ from: "t1", to: "t3" });
    expect(brushedRange(w, 0, 0)).toEqual({ from: "t0", to: "t1" });
  });

  it("finds the neurons furthest into each tail", () => {
    const n = [0.5, 0.01, 0.99, 0.3, 0.97].map((percentile, neuron) => ({ neuron, percentile }));
    const e = extremes(n, 2);
    expect(e.low.map((x) => x.neuron)).toEqual([1, 3]);
    expect(e.high.map((x) => x.neuron)).toEqual([2, 4]);
  });
});
