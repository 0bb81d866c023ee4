import { describe, expect, it } from "vitest";
import { decodeState, DEFAULT_STATE, encodeState, parseSelection, selection, sliceJson, sliceKey } from "../src/state";

describe("a selection as typed", () => {
  it("takes the CLI's durations", () => {
    expect(parseSelection("last:2h")).toEqual({ kind: "last", minutes: 120, slice: "all" });
    expect(parseSelection("last:7d@label=3")).toEqual({ kind: "last", minutes: 10_080, slice: "label=3" });
    expect(parseSelection("last:90s")).toEqual({ kind: "last", minutes: 2, slice: "all" });
    expect(() => parseSelection("last:2w")).toThrow("not a selection");
  });
});

describe("URL state", () => {
  it("round-trips through the fragment", () => {
    const s = { ...DEFAULT_STATE, view: "neurons" as const, model: "mnist-cnn", tap: "dense1",
      b: { kind: "range" as const, from: "2026-11-28T10:00:00Z", to: "2026-11-28T11:00:00Z", slice: "predicted=3" } };
    expect(decodeState("#" + encodeState(s))).toEqual(s);
    const t = { ...s, metric: "psi" as const, span: 360, pair: "pgd-0.20-7" };
    expect(decodeState("#" + encodeState(t))).toEqual(t);
  });

  it("falls back to the defaults for what is missing or unreadable", () => {
    const s = decodeState("#view=nonsense&a=what&model=m");
    expect(s.view).toBe("overview");
    expect(s.a).toEqual(DEFAULT_STATE.a);
    expect(s.model).toBe("m");
    expect(decodeState("#metric=entropy&span=7").metric).toBe("ks");
    expect(decodeState("#span=7").span).toBe(60);
  });

  it("reads sides as the CLI writes them", () => {
    expect(parseSelection("ref:training")).toEqual({ kind: "reference", name: "training", slice: "all" });
    expect(parseSelection("last:15m@tag:source=prod")).toEqual({ kind: "last", minutes: 15, slice: "tag:source=prod" });
    expect(() => parseSelection("yesterday")).toThrow(/not a selection/);
  });

  it("turns sides into the API's selections", () => {
    const now = new Date("2026-11-28T12:00:00Z");
    expect(selection({ kind: "last", minutes: 15, slice: "all" }, now)).toEqual({
      timeRange: { from: "2026-11-28T11:45:00.000Z", to: "2026-11-28T12:00:00.000Z" }, slice: { all: true } });
    expect(sliceJson("pair=attacked")).toEqual({ pairRole: "PAIR_ROLE_ATTACKED" });
    expect(sliceJson("label=7")).toEqual({ trueLabel: 7 });
    expect(() => sliceJson("bogus")).toThrow();
  });

  it("names a slice of the API as a user writes it (a monitor's, for the link to the Neurons view)", () => {
    for (const key of ["all", "predicted=0", "label=7", "tag:source=prod", "pair=benign", "pair=attacked"]) {
      expect(sliceKey(sliceJson(key))).toBe(key);
    }
    expect(sliceKey(undefined)).toBe("all");
  });
});
