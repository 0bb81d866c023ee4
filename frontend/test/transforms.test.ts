import { describe, expect, it } from "vitest";
import { binCounts, formatNumber, scaleShares, sortByValue, viridis } from "../src/transforms";

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
    expect(scaleShares([0.5, 0.5], [0.25, 0.75])).toEqual({ a: [2 / 3, 2 / 3], b: [1 / 3, 1] });
  });

  it("colours from dark to light and grey for missing", () => {
    expect(viridis(0)).toBe("#440154");
    expect(viridis(1)).toBe("#fde725");
    expect(viridis(Number.NaN)).toBe("#bdbdbd");
    expect(formatNumber(0.123456)).toBe("0.123");
    expect(formatNumber(undefined)).toBe("–");
  });
});
