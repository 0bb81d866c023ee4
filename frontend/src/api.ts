// The comparison service's JSON mirror (/api/v1) and watch socket, with the API token when one is needed.

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
async function answer<T>(r: Response): Promise<T> {
  const text = await r.text();
  const json = text ? JSON.parse(text) : {};
  if (!r.ok) {
    throw new ApiError(r.status, json.code ?? json.error ?? String(r.status), json.message ?? r.statusText);
  }
  return json as T;
}

// the deployment's UI settings do not change while a page is open: asked once
let settings: Promise<{ inferenceUrl: string }> | null = null;

export const api = {
  catalog: () => call<Catalog>("GET", "catalog"),
  compare: (request: unknown) => call<CompareResponse>("POST", "compare", request),
  layerOverview: (request: unknown) => call<LayerOverview>("POST", "layer-overview", request),
  shapes: (request: unknown) => call<DistributionShapes>("POST", "distribution-shapes", request),
  timeline: (request: unknown) => call<DriftTimeline>("POST", "drift-timeline", request),
  classMatrix: (request: unknown) => call<ClassMatrix>("POST", "class-matrix", request),
  pairs: (model: string) => call<{ pairs?: { pairId: string; eventTime: string; tags?: Record<string, string> }[] }>(
    "GET", `pairs?model_id=${encodeURIComponent(model)}`),
  inspectPair: (request: unknown) => call<PairInspection>("POST", "inspect-pair", request),
  inspectInstance: (request: unknown) => call<InstanceInspection>("POST", "inspect-instance", request),
  exemplars: (request: unknown) => call<NeuronExemplars>("POST", "neuron-exemplars", request),
  references: (model: string) => call<{ references?: Reference[] }>("GET",
    `references?model_id=${encodeURIComponent(model)}`),
  monitors: (model: string) => call<{ monitors?: Monitor[] }>("GET", `monitors?model_id=${encodeURIComponent(model)}`),
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
export function watch(request: unknown, onEvent: (e: WatchEvent) => void, onState: (open: boolean, why?: string) => void): WebSocket {
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

// The subset of the API's messages the UI reads (protobuf canonical JSON: int64 as strings, and a double that is NaN
// or infinite as the string "NaN", "Infinity" or "-Infinity": read doubles with toNumber in transforms.ts).
/** A double in protobuf's canonical JSON. */
export type Double = number | "NaN" | "Infinity" | "-Infinity";
/** A neuron's non-finite values on one side (int64 as strings); absent where the side has none. */
export interface NonFiniteCounts { nan?: string; positiveInfinity?: string; negativeInfinity?: string; }
export interface TapInfo { name: string; index: number; shape: number[]; neuronCount: number; }
export interface Catalog { models: { modelId: string; versions: { modelVersion: string; taps: TapInfo[];
  references: { name: string }[]; observationCount: string }[] }[]; }
/** mean is NaN when the metric is undefined for every neuron (W1 and mean shift where no side has finite values). */
export interface TapSummary { tap: string; tapIndex: number; neuronCount: number; mean: Double; max: Double;
  driftedShare: number; countA: string; countB: string; }
/**
 * countA and countB are the finite values, nonFiniteA and nonFiniteB the rest; wasserstein and meanShift are "NaN"
 * (undefined) when a side has no finite value, KS, JS and PSI take the non-finite values in.
 */
export interface NeuronDivergence { neuron: number; ks: number; ksErrorBound: number; wasserstein: Double;
  jensenShannon: number; psi: number; meanShift: Double; direction: string; drifted: boolean; countA?: string;
  countB?: string; nonFiniteA?: NonFiniteCounts; nonFiniteB?: NonFiniteCounts; }
export interface CompareResponse { modelVersion: string; taps: { summary: TapSummary; neurons: NeuronDivergence[];
  topNeurons: number[] }[]; }
export interface LayerOverview { modelVersion: string; taps: TapSummary[]; onsetTap: string; }
export interface WatchEvent { windowUpdate?: { modelId: string; tap: string }; monitorTransition?: { monitor: Monitor }; }
/** A reference (ListReferences); int64 fields as strings, absent when zero. */
export interface Reference { name: string; modelId: string; modelVersion: string; origin: string;
  state: "REFERENCE_STATE_BUILDING" | "REFERENCE_STATE_SEALED" | "REFERENCE_STATE_UNSPECIFIED";
  observationCount?: string; createdAt: string; sealedAt?: string; expectedObservations?: string; shortfall?: string; }
export interface Monitor { name: string; modelId: string; tap: string; reference: string; metric: string;
  threshold: number; windowsInARow: number; state: string; since?: string; currentValue: number; }
export interface Prediction { instanceId: string; predictedClass: number; confidence: number; capture: string; }
export interface NeuronPlacement { neuron: number; activation: Double; percentile?: number; }
export interface InstanceInspection { instanceId: string; anomalyScore: number;
  taps?: { tap: string; tapIndex: number; anomalyScore: number; neurons?: NeuronPlacement[];
    missingBlocks?: number[]; blockSize?: number }[]; }
export interface NeuronExemplars { tap: string; neuron: number; exemplars?: { instanceId: string; activation: Double;
  predictedClass?: number; eventTime?: string; imagePng?: string }[]; }
/** One side of a neuron: count finite values, binned in binShares; nonFinite the values no bin holds. */
export interface DistributionSummary { count: string; mean: Double; binShares: number[]; nonFinite?: NonFiniteCounts; }
export interface DistributionShapes { neurons: { neuron: number; binEdges: number[]; a: DistributionSummary;
  b?: DistributionSummary }[]; }
export interface DriftTimeline { points: { window: { start: string; end: string }; taps: TapSummary[];
  onsetTap: string }[]; }
export interface ClassMatrix { classes?: number[]; cells?: { classA: number; classB: number; value: Double;
  driftedShare: number }[]; }
export interface InstanceSummary { instanceId: string; predictedClass: number; confidence: number; imagePng?: string; }
export interface NeuronShift { neuron: number; benignActivation: Double; attackedActivation: Double;
  benignPercentile: number; attackedPercentile: number; }
export interface PairInspection { pairId: string; benign: InstanceSummary; attacked: InstanceSummary;
  taps?: { tap: string; excited?: NeuronShift[]; inhibited?: NeuronShift[] }[]; }
