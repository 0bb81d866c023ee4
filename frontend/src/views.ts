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

/** Class matrix: class x class mean KS of one tap over side B, each cell opening the neurons of that pair. */
export async function renderClassMatrix(main: HTMLElement, state: State,
    open: (a: string, b: string) => void): Promise<void> {
  const now = new Date();
  const b = selection(state.b, now);
  const catalogTaps = (await api.compare({ modelId: state.model, a: selection(state.a, now), b, topK: 1 })).taps
    .map((t) => t.summary.tap);
  const tap = state.tap && catalogTaps.includes(state.tap) ? state.tap : catalogTaps[catalogTaps.length - 1];
  const request: Record<string, unknown> = { modelId: state.model, tap };
  if (state.b.kind === "reference") request.reference = state.b.name;
  else request.timeRange = b.timeRange;
  const m = await api.classMatrix(request);
  const classes = m.classes ?? [];
  main.innerHTML = "";
  main.insertAdjacentHTML("beforeend", `<p>Tap ${tap}: mean KS between predicted classes over B; click a cell to ` +
    `compare those two classes neuron by neuron.</p>`);
  if (classes.length === 0) {
    main.insertAdjacentHTML("beforeend", `<p class="empty">B holds no class of ${tap}.</p>`);
    return;
  }
  const table = document.createElement("table");
  table.className = "matrix";
  table.innerHTML = `<tr><th scope="col">class</th>${classes.map((c) => `<th scope="col">${c}</th>`).join("")}</tr>`;
  const cells = m.cells ?? [];
  const max = Math.max(1e-9, ...cells.map((c) => c.value ?? 0));
  classes.forEach((ca, i) => {
    const row = document.createElement("tr");
    row.innerHTML = `<th scope="row">${ca}</th>`;
    classes.forEach((cb, j) => {
      const cell = cells[i * classes.length + j];
      const td = document.createElement("td");
      const v = cell?.value ?? 0;
      td.style.background = viridis(v / max);
      td.style.color = v / max > 0.6 ? "#000" : "#fff";
      td.textContent = i === j ? "–" : formatNumber(v);
      td.title = `${ca} vs ${cb}: mean KS ${formatNumber(v)}, ${formatNumber(100 * (cell?.driftedShare ?? 0))}% drifted`;
      if (i !== j) {
        td.tabIndex = 0;
        const go = () => open(`predicted=${ca}`, `predicted=${cb}`);
        td.onclick = go;
        td.onkeydown = (e) => {
          if (e.key === "Enter") go();
        };
      }
      row.appendChild(td);
    });
    table.appendChild(row);
  });
  main.appendChild(table);
}

/** Instances: a benign/attacked pair side by side, the images, and the neurons the attack moved most per tap. */
export async function renderInstances(main: HTMLElement, state: State, pairId: string | null,
    pick: (pairId: string) => void): Promise<void> {
  const pairs = (await api.pairs(state.model)).pairs ?? [];
  main.innerHTML = "";
  if (pairs.length === 0) {
    main.innerHTML = `<p class="empty">No benign/attacked pair is in the recent-observation store.</p>`;
    return;
  }
  const select = document.createElement("select");
  select.setAttribute("aria-label", "Pair");
  for (const p of pairs) {
    const o = document.createElement("option");
    o.value = p.pairId;
    o.textContent = `${p.pairId} (${p.eventTime.replace("T", " ").slice(0, 19)})`;
    select.appendChild(o);
  }
  const chosen = pairId && pairs.some((p) => p.pairId === pairId) ? pairId : pairs[0].pairId;
  select.value = chosen;
  select.onchange = () => pick(select.value);
  const label = document.createElement("p");
  label.append("Pair ", select);
  main.appendChild(label);
  const against = state.a.kind === "reference" ? { reference: state.a.name } : selection(state.a, new Date());
  const p = await api.inspectPair({ modelId: state.model, pairId: chosen, against, topK: 5 });
  const sides = document.createElement("div");
  sides.className = "pair";
  for (const [role, s] of [["benign", p.benign], ["attacked", p.attacked]] as const) {
    const fig = document.createElement("figure");
    const img = document.createElement("img");
    if (s.imagePng) img.src = `data:image/png;base64,${s.imagePng}`;
    img.alt = `${role} input, predicted ${s.predictedClass}`;
    img.width = 112;
    img.height = 112;
    const cap = document.createElement("figcaption");
    cap.textContent = `${role}: predicted ${s.predictedClass} (${formatNumber(100 * s.confidence)}%)`;
    fig.append(img, cap);
    sides.appendChild(fig);
  }
  main.appendChild(sides);
  const table = document.createElement("table");
  table.className = "shifts";
  table.innerHTML = `<tr><th scope="col">tap</th><th scope="col">moved</th><th scope="col">neuron</th>` +
    `<th scope="col">benign</th><th scope="col">attacked</th><th scope="col">percentile benign → attacked</th></tr>`;
  for (const t of p.taps ?? []) {
    for (const [dir, list] of [["excited", t.excited ?? []], ["inhibited", t.inhibited ?? []]] as const) {
      for (const n of list) {
        const row = document.createElement("tr");
        row.innerHTML = `<td>${t.tap}</td><td style="color:${dir === "excited" ? EXCITED : INHIBITED}">${dir}</td>` +
          `<td>${n.neuron}</td><td>${formatNumber(n.benignActivation)}</td><td>${formatNumber(n.attackedActivation)}</td>` +
          `<td>${formatNumber(100 * (n.benignPercentile ?? 0))}% → ${formatNumber(100 * (n.attackedPercentile ?? 0))}%</td>`;
        table.appendChild(row);
      }
    }
  }
  main.appendChild(table);
}
