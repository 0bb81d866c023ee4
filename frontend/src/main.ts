// The NeuralDivergence UI: selections in the URL, views rendered from the JSON mirror, live through the watch socket.
import { ApiError, api, setToken, token, watch, type Catalog } from "./api";
import { h } from "./dom";
import { decodeState, encodeState, formatSelection, parseSelection, type State, type View } from "./state";
import { renderClassMatrix } from "./views/classes";
import { renderInstances } from "./views/instances";
import { renderMonitors } from "./views/monitors";
import { renderNeurons } from "./views/neurons";
import { renderOverview } from "./views/overview";
import { renderTimeline } from "./views/timeline";

const VIEWS: { view: View; label: string }[] = [
  { view: "overview", label: "Overview" },
  { view: "neurons", label: "Neurons" },
  { view: "classes", label: "Class matrix" },
  { view: "instances", label: "Instances" },
  { view: "timeline", label: "Timeline" },
  { view: "monitors", label: "Monitors" },
];
/** Views redrawn as windows commit; the others answer a question about a fixed moment. */
const LIVE: View[] = ["overview", "timeline", "monitors"];
const REDRAW_MS = 2000;
const RECONNECT_MS = 3000;
const RECONNECT_MAX_MS = 60_000;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let state: State = decodeState(location.hash);
let catalog: Catalog | null = null;
let socket: WebSocket | null = null;
let redrawTimer: number | undefined;
let rendering: Promise<void> = Promise.resolve();
// a drawing asked for and not begun yet: it draws the state as it is when it begins, so one is enough
let queued = false;
// reconnections in a row that failed: each waits twice as long as the last, up to RECONNECT_MAX_MS
let failedReconnects = 0;
const neurons = { driftedOnly: false, shown: 0 };
/** What the Monitors view has open (a form, a history): kept across its live redraws. */
const monitorsView = { editing: null as string | null, history: null as string | null };

function setState(next: State): void {
  state = next;
  history.replaceState(null, "", "#" + encodeState(state));
  // the selectors show the new state at once; the view follows when the drawing in progress (a live update's) ends
  renderChrome();
  void render();
}

function connection(text: string, kind: "live" | "down" | ""): void {
  const el = $("connection");
  el.textContent = text;
  el.className = kind;
}

/** Shows an error in words; an authentication error asks for a token. */
function showError(e: unknown): void {
  const main = $("main");
  // a form being filled in stays as the user left it: one failed live redraw must not wipe what is being typed
  // (the next redraw finds it in place and keeps it)
  const form = main.querySelector<HTMLFormElement>("form.monitor-form");
  const kept = form ? [form] : [];
  if (e instanceof ApiError && e.status === 401) {
    main.replaceChildren(h("p", { class: "error", role: "alert" },
      `${token() ? "The API token was refused" : "The platform requires an API token"}: ${e.message}.`), ...kept);
    askForToken();
    return;
  }
  main.replaceChildren(h("p", { class: "error", role: "alert" }, e instanceof Error ? e.message : String(e)),
    ...kept);
}

function askForToken(): void {
  const dialog = $<HTMLDialogElement>("token-dialog");
  dialog.onclose = () => {
    const input = $<HTMLInputElement>("token");
    const value = input.value.trim();
    // the secret lives in the session's storage alone, not in a field of the page as well
    input.value = "";
    if (!value) return;
    setToken(value);
    void start();
  };
  if (!dialog.open) dialog.showModal();
}

function renderChrome(): void {
  $("views").replaceChildren(...VIEWS.map((v) => {
    const b = h("button", { type: "button" }, v.label);
    if (v.view === state.view) b.setAttribute("aria-current", "page");
    b.onclick = () => setState({ ...state, view: v.view });
    return b;
  }));
  const select = $<HTMLSelectElement>("model");
  select.replaceChildren(...(catalog?.models ?? []).map((m) => h("option", { value: m.modelId }, m.modelId)));
  select.value = state.model;
  $<HTMLInputElement>("side-a").value = formatSelection(state.a);
  $<HTMLInputElement>("side-b").value = formatSelection(state.b);
}

/**
 * Draws the current view; one drawing at a time, so that a slow answer never overwrites a newer one, and at most one
 * waiting: live redraws asked for while a slow drawing runs would otherwise queue up without end.
 */
function render(): Promise<void> {
  if (queued) return rendering;
  queued = true;
  const next = () => {
    queued = false;
    return draw();
  };
  rendering = rendering.then(next, next);
  return rendering;
}

async function draw(): Promise<void> {
  renderChrome();
  const main = $("main");
  main.dataset.view = state.view;
  if (!state.model) {
    main.replaceChildren(h("p", { class: "empty" }, "No model has stored distributions yet: send traffic through " +
      "inference."));
    return;
  }
  try {
    if (state.view === "overview") {
      await renderOverview(main, state);
    } else if (state.view === "neurons") {
      await renderNeurons(main, state, { ...neurons, change: (c) => {
        if (c.driftedOnly !== undefined) neurons.driftedOnly = c.driftedOnly;
        if (c.shown !== undefined) neurons.shown = c.shown;
        setState({ ...state, tap: c.tap ?? state.tap, metric: c.metric ?? state.metric });
      } });
    } else if (state.view === "timeline") {
      await renderTimeline(main, state, (span) => setState({ ...state, span }), (b) => setState({ ...state, b }));
    } else if (state.view === "classes") {
      const taps = catalog?.models.find((m) => m.modelId === state.model)?.versions[0]?.taps ?? [];
      await renderClassMatrix(main, state, taps, (tap) => setState({ ...state, tap }), (a, b) => {
        setState({ ...state, view: "neurons", a: { ...state.b, slice: a }, b: { ...state.b, slice: b } });
      });
    } else if (state.view === "monitors") {
      await renderMonitors(main, state, monitorsView, () => void render());
    } else {
      await renderInstances(main, state, (pair) => setState({ ...state, pair }));
    }
    main.dataset.rendered = new Date().toISOString();
  } catch (e) {
    showError(e);
  }
}

/** Follows the model's window updates and monitor transitions; reconnects by itself. */
function subscribe(): void {
  if (socket) {
    socket.onclose = null;
    socket.close();
  }
  if (!state.model) return;
  const model = state.model;
  try {
    socket = openWatch(model);
  } catch {
    // a token with characters a subprotocol cannot hold ('/', '@', '=', spaces: RFC 6455 takes an HTTP token): the
    // browser refuses the socket before it is sent; the views still answer, without live updates
    socket = null;
    connection("live updates off: the token holds characters a WebSocket cannot carry (letters, digits and "
      + "!#$%&'*+-.^_`|~ only)", "down");
  }
}

/** The watch socket of a model: live views redrawn on its events, reconnected after it closes. */
function openWatch(model: string): WebSocket {
  return watch({ modelId: model, includeMonitors: true }, () => {
    // windows commit every second: redraw the live views at most every REDRAW_MS
    if (redrawTimer === undefined && LIVE.includes(state.view)) {
      redrawTimer = window.setTimeout(() => {
        redrawTimer = undefined;
        if (LIVE.includes(state.view)) void render();
      }, REDRAW_MS);
    }
  }, (open, why) => {
    if (open) failedReconnects = 0;
    // backing off, with jitter: a service restarting is not met by every open page at once, every 3 s
    const wait = Math.min(RECONNECT_MAX_MS, RECONNECT_MS * 2 ** Math.min(failedReconnects, 5))
      * (0.5 + Math.random() / 2);
    connection(open ? `live: ${model}` : `disconnected (${why}); reconnecting in ${Math.round(wait / 1000)} s…`,
      open ? "live" : "down");
    if (!open) {
      failedReconnects++;
      if (failedReconnects === 2) {
        // a refused upgrade closes the socket without a reason (1006): a plain request tells whether the token is
        // what is wrong, and asks for another instead of reconnecting with it forever
        void api.catalog().catch((e) => {
          if (e instanceof ApiError && e.status === 401) showError(e);
        });
      }
      window.setTimeout(() => {
        if (state.model === model) subscribe();
      }, wait);
    }
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
    const model = $<HTMLSelectElement>("model").value;
    const changed = model !== state.model;
    setState({ ...state, model, a: parseSelection($<HTMLInputElement>("side-a").value),
      b: parseSelection($<HTMLInputElement>("side-b").value) });
    if (changed) subscribe();
  } catch (err) {
    showError(err);
  }
});
window.addEventListener("hashchange", () => {
  const watched = state.model;
  state = decodeState(location.hash);
  renderChrome();
  void render();
  // a link to another model pasted into this tab: its updates, not the last model's
  if (state.model !== watched) subscribe();
});
void start();
