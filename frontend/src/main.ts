// The NeuralDivergence UI: selections in the URL, views rendered from the JSON mirror, live through the watch socket.
import { ApiError, api, setToken, watch, type Catalog, type CompareResponse } from "./api";
import { decodeState, encodeState, formatSide, parseSide, selection, type State, type View } from "./state";
import { formatNumber, viridis } from "./transforms";
import { renderClassMatrix, renderInstances, renderNeurons, renderTimeline } from "./views";

const VIEWS: { view: View; label: string }[] = [
  { view: "overview", label: "Overview" },
  { view: "neurons", label: "Neurons" },
  { view: "classes", label: "Class matrix" },
  { view: "instances", label: "Instances" },
  { view: "timeline", label: "Timeline" },
];

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let state: State = decodeState(location.hash);
let catalog: Catalog | null = null;
let socket: WebSocket | null = null;
let refreshTimer: number | undefined;
let driftedOnly = false;
let pairId: string | null = null;

function setState(next: State): void {
  state = next;
  history.replaceState(null, "", "#" + encodeState(state));
  render();
}

function connection(text: string, kind: "live" | "down" | ""): void {
  const el = $("connection");
  el.textContent = text;
  el.className = kind;
}

/** Shows an error in words; an authentication error asks for a token. */
function showError(e: unknown): void {
  const main = $("main");
  if (e instanceof ApiError && e.status === 401) {
    main.innerHTML = `<p class="error">The platform requires an API token: ${escape(e.message)}.</p>`;
    const dialog = $<HTMLDialogElement>("token-dialog");
    dialog.onclose = () => {
      setToken($<HTMLInputElement>("token").value.trim() || null);
      void start();
    };
    if (!dialog.open) dialog.showModal();
    return;
  }
  main.innerHTML = `<p class="error">${escape(e instanceof Error ? e.message : String(e))}</p>`;
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderChrome(): void {
  const nav = $("views");
  nav.innerHTML = "";
  for (const v of VIEWS) {
    const b = document.createElement("button");
    b.textContent = v.label;
    b.type = "button";
    if (v.view === state.view) b.setAttribute("aria-current", "page");
    b.onclick = () => setState({ ...state, view: v.view });
    nav.appendChild(b);
  }
  const select = $<HTMLSelectElement>("model");
  select.innerHTML = "";
  for (const m of catalog?.models ?? []) {
    const o = document.createElement("option");
    o.value = o.textContent = m.modelId;
    select.appendChild(o);
  }
  select.value = state.model;
  $<HTMLInputElement>("side-a").value = formatSide(state.a);
  $<HTMLInputElement>("side-b").value = formatSide(state.b);
}

async function render(): Promise<void> {
  renderChrome();
  const main = $("main");
  if (!state.model) {
    main.innerHTML = `<p class="empty">No model has stored distributions yet: send traffic through inference.</p>`;
    return;
  }
  try {
    if (state.view === "overview") {
      await renderOverview(main);
    } else if (state.view === "neurons") {
      await renderNeurons(main, state, driftedOnly, (tap, only) => {
        driftedOnly = only;
        setState({ ...state, tap });
      });
    } else if (state.view === "timeline") {
      await renderTimeline(main, state);
    } else if (state.view === "classes") {
      await renderClassMatrix(main, state, (a, b) => {
        const range = state.b;
        setState({ ...state, view: "neurons", a: { ...range, slice: a }, b: { ...range, slice: b } });
      });
    } else {
      await renderInstances(main, state, pairId, (id) => {
        pairId = id;
        void render();
      });
    }
  } catch (e) {
    showError(e);
  }
}

/** Overview: one divergence strip per tap (each neuron's KS, A against B), the onset tap marked. */
async function renderOverview(main: HTMLElement): Promise<void> {
  if (!main.querySelector(".tap")) main.innerHTML = `<p class="empty">Loading…</p>`;
  const now = new Date();
  const request = { modelId: state.model, a: selection(state.a, now), b: selection(state.b, now) };
  const [compare, layers] = await Promise.all([api.compare(request), api.layerOverview(request)]);
  main.innerHTML = "";
  const heading = document.createElement("p");
  heading.textContent = `${state.model} ${compare.modelVersion}: A = ${formatSide(state.a)}, B = ${formatSide(state.b)}`;
  main.appendChild(heading);
  for (const tap of compare.taps) {
    main.appendChild(tapStrip(tap, tap.summary.tap === layers.onsetTap));
  }
  const legend = document.createElement("p");
  legend.className = "legend";
  legend.textContent = "Each cell is a neuron, in order; colour is its KS statistic between A and B (dark 0, " +
    "yellow 1). Drifted: KS minus its error bound above 0.1.";
  main.appendChild(legend);
}

function tapStrip(tap: CompareResponse["taps"][number], onset: boolean): HTMLElement {
  const row = document.createElement("div");
  row.className = "tap" + (onset ? " onset" : "");
  row.dataset.tap = tap.summary.tap;
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = tap.summary.tap;
  const canvas = document.createElement("canvas");
  canvas.width = tap.neurons.length;
  canvas.height = 1;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", `KS of the ${tap.neurons.length} neurons of ${tap.summary.tap}`);
  const g = canvas.getContext("2d");
  tap.neurons.forEach((n, i) => {
    if (g) {
      g.fillStyle = viridis(n.ks);
      g.fillRect(i, 0, 1, 1);
    }
  });
  const stats = document.createElement("span");
  stats.className = "stats";
  stats.textContent = `${formatNumber(100 * tap.summary.driftedShare)}% drifted, mean KS ${formatNumber(tap.summary.mean)}, ` +
    `B ${tap.summary.countB} obs.`;
  row.append(name, canvas, stats);
  return row;
}

function subscribe(): void {
  socket?.close();
  if (!state.model) return;
  socket = watch({ modelId: state.model, includeMonitors: true }, () => {
    // windows commit every second: redraw the live views at most every 2 s
    if (refreshTimer === undefined && state.view === "overview") {
      refreshTimer = window.setTimeout(() => {
        refreshTimer = undefined;
        void render();
      }, 2000);
    }
  }, (open, why) => {
    connection(open ? "live" : `disconnected: ${why}; reconnecting…`, open ? "live" : "down");
    if (!open) window.setTimeout(subscribe, 3000);
  });
}

async function start(): Promise<void> {
  try {
    catalog = await api.catalog();
  } catch (e) {
    connection("not connected", "down");
    showError(e);
    return;
  }
  if (!state.model && catalog.models.length > 0) state = { ...state, model: catalog.models[0].modelId };
  setState(state);
  subscribe();
}

$("selectors").addEventListener("submit", (e) => {
  e.preventDefault();
  try {
    setState({ ...state, model: $<HTMLSelectElement>("model").value,
      a: parseSide($<HTMLInputElement>("side-a").value), b: parseSide($<HTMLInputElement>("side-b").value) });
    subscribe();
  } catch (err) {
    showError(err);
  }
});
window.addEventListener("hashchange", () => {
  state = decodeState(location.hash);
  void render();
});
void start();
