// The comparison service's JSON mirror (/api/v1) and watch socket, with the API token when one is needed.
import type * as common from "./generated/neuraldivergence/v1/common_pb";
import type * as pb from "./generated/neuraldivergence/v1/comparison_pb";

const TOKEN_KEY = "nd.token";

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string | null): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(`api/v1/${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return answer<T>(r);
}

/** A response's JSON, or an ApiError with the service's words ({code, message}, or inference's {error, message}). */
export async function answer<T>(r: Response): Promise<T> {
  const text = await r.text();
  if (!r.ok) {
    // a proxy's or gateway's error page is not the service's JSON: its status speaks for it
    let json: { code?: string; error?: string; message?: string } = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      // not JSON
    }
    throw new ApiError(r.status, json.code ?? json.error ?? String(r.status), json.message ?? r.statusText);
  }
  return (text ? JSON.parse(text) : {}) as T;
}

// the deployment's UI settings do not change while a page is open: asked once
let settings: Promise<{ inferenceUrl: string }> | null = null;

export const api = {
  catalog: () => call<Catalog>("GET", "catalog"),
  compare: (request: pb.CompareRequestJson) => call<CompareResponse>("POST", "compare", request),
  shapes: (request: pb.DistributionShapesRequestJson) => call<DistributionShapes>("POST", "distribution-shapes",
    request),
  timeline: (request: pb.DriftTimelineRequestJson) => call<DriftTimeline>("POST", "drift-timeline", request),
  classMatrix: (request: ClassMatrixRequest) => call<ClassMatrix>("POST", "class-matrix", request),
  pairs: (model: string) => call<ListPairsResponse>("GET", `pairs?model_id=${encodeURIComponent(model)}`),
  inspectPair: (request: pb.InspectPairRequestJson) => call<PairInspection>("POST", "inspect-pair", request),
  inspectInstance: (request: pb.InspectInstanceRequestJson) => call<InstanceInspection>("POST", "inspect-instance",
    request),
  exemplars: (request: pb.NeuronExemplarsRequestJson) => call<NeuronExemplars>("POST", "neuron-exemplars", request),
  references: (model: string) => call<ListReferencesResponse>("GET",
    `references?model_id=${encodeURIComponent(model)}`),
  monitors: (model: string) => call<ListMonitorsResponse>("GET", `monitors?model_id=${encodeURIComponent(model)}`),
  createMonitor: (monitor: pb.MonitorDefinitionJson) => call<MonitorDefinition>("POST", "monitors", { monitor }),
  updateMonitor: (name: string, monitor: pb.MonitorDefinitionJson) => call<MonitorDefinition>("PUT",
    `monitors/${encodeURIComponent(name)}`, { monitor }),
  deleteMonitor: (name: string) => call<{ deleted: boolean }>("DELETE",
    `monitors/${encodeURIComponent(name)}`),
  monitorHistory: (name: string, evaluationMinutes = 0) => call<MonitorHistory>("GET",
    `monitors/${encodeURIComponent(name)}/history?evaluation_minutes=${evaluationMinutes}`),
  uiSettings: () => {
    settings ??= call<{ inferenceUrl: string }>("GET", "ui-settings").catch((e) => {
      settings = null;
      throw e;
    });
    return settings;
  },
};

/**
 * Sends an uploaded PNG through the inference service (CORS: it allows this UI's origin), tagged source=upload, with
 * the session's token: the local run gives both services one token; a deployment with separate tokens gives the
 * UI's token the inference `predict` scope too, or uploads are refused.
 */
export async function predictPng(inferenceUrl: string, png: Blob): Promise<Prediction> {
  const headers: Record<string, string> = { "Content-Type": "image/png", Accept: "application/json" };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  const r = await fetch(`${inferenceUrl.replace(/\/$/, "")}/v1/predict?tag=source%3Dupload`, {
    method: "POST", headers, body: png });
  return (await answer<{ predictions: Prediction[] }>(r)).predictions[0];
}

/** Opens the watch socket; the token travels as a subprotocol (browsers cannot set headers on a WebSocket). */
export function watch(request: pb.WatchRequestJson, onEvent: (e: WatchEvent) => void,
    onState: (open: boolean, why?: string) => void): WebSocket {
  const url = new URL("api/v1/watch", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const t = token();
  const ws = new WebSocket(url, t ? ["nd.v1", `bearer.${t}`] : ["nd.v1"]);
  ws.onopen = () => {
    ws.send(JSON.stringify(request));
    onState(true);
  };
  ws.onmessage = (m) => onEvent(JSON.parse(m.data as string) as WatchEvent);
  ws.onclose = (c) => onState(false, c.reason || `closed (${c.code})`);
  return ws;
}

// ---------------------------------------------------------------- the API's messages
// Generated from the protos at build time (npm run gen: protoc-gen-es's JSON types in src/generated/). They are
// protobuf's canonical JSON: lowerCamelCase names, int64 as a string, a Timestamp as an RFC 3339 string, an enum as
// its name, bytes as base64, and a double or float as a number or "NaN", "Infinity", "-Infinity" (Double: read it
// with toNumber in transforms.ts). A request is the JSON type itself (any field may be left out); a response is
// Printed, as the mirror writes it.

/** A double (or float) in protobuf's canonical JSON, as the generated types write it. */
export type Double = number | "NaN" | "Infinity" | "-Infinity";

/**
 * A message as the JSON mirror prints it: its canonical JSON type J (where every field may be absent) with the
 * fields the printer always writes made required. The mirror prints the fields without presence even at their
 * default (includingDefaultValueFields: scalars, enums, repeated fields, maps); a message field, a oneof member or a
 * proto3 `optional` field appears only when set. The generated message type M says which is which: it types a field
 * with presence as optional, and holds a oneof by the oneof's name, so that a oneof member is no field of M at all.
 */
export type Printed<J, M> =
  J extends readonly (infer JE)[] ? (M extends readonly (infer ME)[] ? Printed<JE, ME>[] : J)
  : J extends object ? (string extends keyof J
    ? { [key: string]: Printed<J[string], M extends { [key: string]: infer MV } ? MV : unknown> }
    : Flat<{ [K in keyof J as K extends AlwaysPrinted<M> ? K : never]-?: Printed<NonNullable<J[K]>, FieldOf<M, K>> }
      & { [K in keyof J as K extends AlwaysPrinted<M> ? never : K]?: Printed<NonNullable<J[K]>, FieldOf<M, K>> }>)
  : J;
/** The fields of M without presence: those it does not type as optional. */
type AlwaysPrinted<M> = { [K in keyof M]-?: {} extends Pick<M, K> ? never : K }[keyof M];
/** M's type of J's field K: the field's, or for a oneof member the value of its case. */
type FieldOf<M, K> = K extends keyof M ? NonNullable<M[K]>
  : Extract<M[keyof M], { case: K }> extends { value: infer V } ? V : unknown;
type Flat<T> = { [K in keyof T]: T[K] };

export type Catalog = Printed<pb.CatalogJson, pb.Catalog>;
export type TapInfo = Printed<pb.TapInfoJson, pb.TapInfo>;
export type CompareResponse = Printed<pb.CompareResponseJson, pb.CompareResponse>;
export type NeuronDivergence = Printed<pb.NeuronDivergenceJson, pb.NeuronDivergence>;
export type NonFiniteCounts = Printed<pb.NonFiniteCountsJson, pb.NonFiniteCounts>;
export type DistributionShapes = Printed<pb.DistributionShapesJson, pb.DistributionShapes>;
export type DriftTimeline = Printed<pb.DriftTimelineJson, pb.DriftTimeline>;
export type ClassMatrix = Printed<pb.ClassMatrixJson, pb.ClassMatrix>;
export type ListPairsResponse = Printed<pb.ListPairsResponseJson, pb.ListPairsResponse>;
export type PairInspection = Printed<pb.PairInspectionJson, pb.PairInspection>;
export type InstanceInspection = Printed<pb.InstanceInspectionJson, pb.InstanceInspection>;
export type NeuronExemplars = Printed<pb.NeuronExemplarsJson, pb.NeuronExemplars>;
export type ListReferencesResponse = Printed<pb.ListReferencesResponseJson, pb.ListReferencesResponse>;
export type Reference = Printed<pb.ReferenceJson, pb.Reference>;
export type ListMonitorsResponse = Printed<pb.ListMonitorsResponseJson, pb.ListMonitorsResponse>;
export type Monitor = Printed<pb.MonitorJson, pb.Monitor>;
export type MonitorDefinition = Printed<pb.MonitorDefinitionJson, pb.MonitorDefinition>;
export type MonitorHistory = Printed<pb.MonitorHistoryJson, pb.MonitorHistory>;
/** The watch socket prints its events without the fields at their default: the JSON type as it is. */
export type WatchEvent = pb.WatchEventJson;
/** One side of a comparison in a request. */
export type Selection = pb.SelectionJson;
export type Slice = common.SliceJson;
export type ClassMatrixRequest = pb.ClassMatrixRequestJson;

/** Inference's REST answer (/v1/predict): its own JSON, not a proto's (capture is queued, shed or not-sampled). */
export interface Prediction { instanceId: string; predictedClass: number; confidence: number; capture: string; }
