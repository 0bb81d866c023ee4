// The Neurons and Timeline views: drawn on canvases, so that taps of a thousand neurons stay smooth.
import { api, type CompareResponse } from "./api";
import { selection, type State } from "./state";
import { EXCITED, INHIBITED, formatNumber, scaleShares, sortByValue, viridis } from "./transforms";

/** At most this many small multiples are drawn at once; the rest are one click away. */
const PAGE = 120;

/**
 * Neurons of one tap sorted by KS, each a small multiple of A (grey) and B (orange when excited, blue when
 * inhibited) on shared bins; "drifted only" follows the API's error-aware verdict.
 */
export async function renderNeurons(main: HTMLElement, state: State, driftedOnly: boolean,
    onChange: (tap: string, driftedOnly: boolean) => void): Promise<void> {
  const now = new Date();
  const compare: CompareResponse = await api.compare({ modelId: state.model, a: selection(state.a, now),
    b: selection(state.b, now), topK: 1 });
  const taps = compare.taps.map((t) => t.summary.tap);
  const tapName = state.tap && taps.includes(state.tap) ? state.tap : taps[taps.length - 1];
  const tap = compare.taps.find((t) => t.summary.tap === tapName);
  main.innerHTML = "";
  const controls = document.createElement("p");
  const select = document.createElement("select");
  select.setAttribute("aria-label", "Tap");
  for (const t of taps) {
    const o = document.createElement("option");
    o.value = o.textContent = t;
    select.appendChild(o);
  }
  select.value = tapName;
  select.onchange = () => onChange(select.value, driftedOnly);
  const filter = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = driftedOnly;
  box.onchange = () => onChange(tapName, box.checked);
  filter.append(box, " drifted only");
  controls.append("Tap ", select, " ", filter);
  main.appendChild(controls);
  if (!tap) {
    main.insertAdjacentHTML("beforeend", `<p class="empty">No tap to show.</p>`);
    return;
  }
  const order = sortByValue(tap.neurons.map((n) => ({ neuron: n.neuron, value: n.ks, drifted: n.drifted })),
    driftedOnly).slice(0, PAGE);
  const summary = document.createElement("p");
  summary.textContent = `${tapName}: ${tap.neurons.length} neurons, ${formatNumber(100 * tap.summary.driftedShare)}% ` +
    `drifted; showing ${order.length}${driftedOnly ? " drifted" : ""}, by KS, largest first.`;
  main.appendChild(summary);
  if (order.length === 0) {
    main.insertAdjacentHTML("beforeend", `<p class="empty">No neuron of ${tapName} drifted.</p>`);
    return;
  }
  const shapes = await api.shapes({ modelId: state.model, tap: tapName, neurons: order.map((n) => n.neuron),
    a: selection(state.a, now), b: selection(state.b, now), bins: 24 });
  const grid = document.createElement("div");
  grid.className = "neurons";
  const byNeuron = new Map(shapes.neurons.map((s) => [s.neuron, s]));
  for (const n of order) {
    const d = tap.neurons[n.neuron];
    const shape = byNeuron.get(n.neuron);
    const cell = document.createElement("figure");
    cell.dataset.neuron = String(n.neuron);
    const canvas = document.createElement("canvas");
    canvas.width = 120;
    canvas.height = 48;
    if (shape && shape.b) {
      const scaled = scaleShares(shape.a.binShares, shape.b.binShares);
      const g = canvas.getContext("2d");
      if (g) {
        const w = canvas.width / scaled.a.length;
        scaled.a.forEach((h, i) => {
          g.fillStyle = "rgba(120,120,120,0.55)";
          g.fillRect(i * w, canvas.height * (1 - h), w, canvas.height * h);
        });
        g.fillStyle = d.direction === "DIRECTION_INHIBITED" ? INHIBITED : EXCITED;
        g.globalAlpha = 0.6;
        scaled.b.forEach((h, i) => g.fillRect(i * w, canvas.height * (1 - h), w, canvas.height * h));
      }
      canvas.setAttribute("aria-label", `neuron ${n.neuron}: A grey, B coloured, on shared bins from ` +
        `${formatNumber(shape.binEdges[0])} to ${formatNumber(shape.binEdges[shape.binEdges.length - 1])}`);
    }
    const caption = document.createElement("figcaption");
    caption.textContent = `#${n.neuron} KS ${formatNumber(d.ks)}${d.drifted ? " drifted" : ""}`;
    cell.append(canvas, caption);
    grid.appendChild(cell);
  }
  main.appendChild(grid);
}

/** Timeline: each window against the reference side A, per tap: drifted share as colour, onset marked. */
export async function renderTimeline(main: HTMLElement, state: State): Promise<void> {
  if (state.a.kind !== "reference") {
    main.innerHTML = `<p class="empty">The timeline compares each window with a reference: set A to ref:NAME.</p>`;
    return;
  }
  const now = new Date();
  const b = selection(state.b.kind === "reference" ? { kind: "last", minutes: 60, slice: "all" } : state.b, now);
  const timeline = await api.timeline({ modelId: state.model, reference: state.a.name, range: b.timeRange,
    slice: b.slice });
  main.innerHTML = "";
  if (timeline.points.length === 0) {
    main.innerHTML = `<p class="empty">No window of that range holds observations.</p>`;
    return;
  }
  const taps = timeline.points[0].taps.map((t) => t.tap);
  const table = document.createElement("table");
  table.className = "timeline";
  const head = document.createElement("tr");
  head.innerHTML = `<th scope="col">window (UTC)</th>` + taps.map((t) => `<th scope="col">${t}</th>`).join("");
  table.appendChild(head);
  for (const p of timeline.points) {
    const row = document.createElement("tr");
    const when = document.createElement("th");
    when.scope = "row";
    when.textContent = p.window.start.replace("T", " ").replace(/:00Z$/, "");
    row.appendChild(when);
    for (const t of taps) {
      const s = p.taps.find((x) => x.tap === t);
      const cell = document.createElement("td");
      if (s) {
        cell.style.background = viridis(s.driftedShare);
        cell.style.color = s.driftedShare > 0.5 ? "#000" : "#fff";
        cell.textContent = `${formatNumber(100 * s.driftedShare)}%${p.onsetTap === t ? " ◀" : ""}`;
        cell.title = `${t}: ${formatNumber(100 * s.driftedShare)}% drifted, mean KS ${formatNumber(s.mean)}, ` +
          `${s.countB} observations`;
      }
      row.appendChild(cell);
    }
    table.appendChild(row);
  }
  main.appendChild(table);
  main.insertAdjacentHTML("beforeend", `<p class="legend">Each cell: the share of the tap's neurons drifted in ` +
    `that window against reference ${state.a.name}; ◀ the onset tap.</p>`);
}
