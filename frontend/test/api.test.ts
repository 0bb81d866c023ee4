import { describe, expect, expectTypeOf, it } from "vitest";
import type { Catalog, CompareResponse, Double, NeuronExemplars, PairInspection, Reference, Selection }
  from "../src/api";
import { answer, ApiError } from "../src/api";
import { present } from "../src/transforms";

/** Whether field K of T may be absent. */
type Optional<T, K extends keyof T> = {} extends Pick<T, K> ? true : false;

// Checked by the type check (npm run build), not at run time: the generated types read as the JSON mirror prints.
describe("the API's messages, as the JSON mirror prints them", () => {
  it("hold every field without presence, even at its default, as canonical JSON writes it", () => {
    type Tap = CompareResponse["taps"][number];
    type Summary = NonNullable<Tap["summary"]>;
    type Neuron = Tap["neurons"][number];
    expectTypeOf<Optional<CompareResponse, "onsetTap">>().toEqualTypeOf<false>();
    expectTypeOf<CompareResponse["onsetTapIndex"]>().toEqualTypeOf<number>();
    expectTypeOf<Optional<Tap, "neurons">>().toEqualTypeOf<false>();
    expectTypeOf<Optional<Summary, "countB">>().toEqualTypeOf<false>();
    // int64 as a string, doubles as numbers or "NaN"/"Infinity"/"-Infinity", enums by name
    expectTypeOf<Summary["countB"]>().toEqualTypeOf<string>();
    expectTypeOf<Summary["mean"]>().toEqualTypeOf<Double>();
    expectTypeOf<Neuron["wasserstein"]>().toEqualTypeOf<Double>();
    expectTypeOf<Neuron["neuron"]>().toEqualTypeOf<number>();
    expectTypeOf<Neuron["drifted"]>().toEqualTypeOf<boolean>();
    expectTypeOf<Neuron["direction"]>()
      .toEqualTypeOf<"DIRECTION_UNSPECIFIED" | "DIRECTION_EXCITED" | "DIRECTION_INHIBITED" | "DIRECTION_UNCHANGED">();
    expectTypeOf<Catalog["models"][number]["versions"][number]["taps"][number]["shape"]>().toEqualTypeOf<number[]>();
    // a map is printed, empty or not
    type Member = NonNullable<PairInspection["benign"]>;
    expectTypeOf<Optional<Member, "tags">>().toEqualTypeOf<false>();
    expectTypeOf<Member["tags"]>().toEqualTypeOf<{ [key: string]: string }>();
    // bytes as base64
    expectTypeOf<Member["imagePng"]>().toEqualTypeOf<string>();
  });

  it("leave out message fields, Timestamps, proto3 optionals and oneof members unless set", () => {
    type Exemplar = NeuronExemplars["exemplars"][number];
    expectTypeOf<Optional<CompareResponse["taps"][number], "summary">>().toEqualTypeOf<true>();
    expectTypeOf<Optional<PairInspection, "benign">>().toEqualTypeOf<true>();
    expectTypeOf<Optional<Exemplar, "eventTime">>().toEqualTypeOf<true>();
    expectTypeOf<Exemplar["eventTime"]>().toEqualTypeOf<string | undefined>();
    expectTypeOf<Optional<Exemplar, "predictedClass">>().toEqualTypeOf<true>();
    expectTypeOf<Optional<Reference, "sealedAt">>().toEqualTypeOf<true>();
    expectTypeOf<Reference["state"]>()
      .toEqualTypeOf<"REFERENCE_STATE_UNSPECIFIED" | "REFERENCE_STATE_BUILDING" | "REFERENCE_STATE_SEALED">();
    // a request may leave out any field
    expectTypeOf<Optional<Selection, "reference">>().toEqualTypeOf<true>();
    expectTypeOf<{ reference: string }>().toExtend<Selection>();
  });

  it("keep the messages that hold a field with presence", () => {
    const taps = [{ summary: { tap: "conv1" }, neurons: [] }, { neurons: [1] }];
    const kept = taps.filter(present("summary"));
    expect(kept.map((t) => t.summary.tap)).toEqual(["conv1"]);
  });
});

describe("an error answer", () => {
  it("carries the service's code and message", async () => {
    const e = await answer<never>(new Response('{"code":"NOT_FOUND","message":"no model m"}', { status: 404 }))
      .catch((x: ApiError) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect([e.status, e.code, e.message]).toEqual([404, "NOT_FOUND", "no model m"]);
  });

  it("from a proxy's HTML page is its status, not a JSON parse error", async () => {
    const e = await answer<never>(new Response("<html>Bad Gateway</html>", { status: 502, statusText: "Bad Gateway" }))
      .catch((x: ApiError) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect([e.status, e.code, e.message]).toEqual([502, "502", "Bad Gateway"]);
  });
});
