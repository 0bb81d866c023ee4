// Class matrix: class x class mean KS of one tap over side B; a cell opens the neurons of that pair of classes.
import { api, type ClassMatrixRequest, type TapInfo } from "../api";
import { choice, empty, h, loading } from "../dom";
import { selection, type State } from "../state";
import { formatNumber, toNumber, viridis } from "../transforms";

export async function renderClassMatrix(main: HTMLElement, state: State, tapInfos: TapInfo[],
    pickTap: (tap: string) => void, open: (a: string, b: string) => void): Promise<void> {
  loading(main);
  const taps = tapInfos.slice().sort((x, y) => x.index - y.index).map((t) => t.name);
  const tap = state.tap && taps.includes(state.tap) ? state.tap : taps[taps.length - 1];
  const request: ClassMatrixRequest = { modelId: state.model, tap };
  if (state.b.kind === "reference") request.reference = state.b.name;
  else request.timeRange = selection(state.b, new Date()).timeRange;
  const m = await api.classMatrix(request);
  const classes = m.classes ?? [];
  const bar = h("p", { class: "controls" }, choice("Tap", taps.map((t) => ({ value: t, label: t })), tap, pickTap),
    ` mean KS between predicted classes over B; click a cell (or focus it and press Enter) to compare those two ` +
    `classes neuron by neuron.`);
  if (classes.length === 0) {
    main.replaceChildren(bar, empty(`B holds no predicted class of ${tap}.`));
    return;
  }
  const cells = m.cells ?? [];
  // a mean the API could not define travels as "NaN": it neither sets the scale nor gets a colour
  const max = Math.max(1e-9, ...cells.map((c) => toNumber(c.value ?? 0)).filter((v) => !Number.isNaN(v)));
  const table = h("table", { class: "matrix", "aria-label": `mean KS of ${tap} between predicted classes` },
    h("tr", {}, h("th", { scope: "col" }, "predicted"), ...classes.map((c) => h("th", { scope: "col" }, String(c)))));
  classes.forEach((ca, i) => {
    const row = h("tr", {}, h("th", { scope: "row" }, String(ca)));
    classes.forEach((cb, j) => {
      const cell = cells[i * classes.length + j];
      const v = toNumber(cell?.value ?? 0);
      const td = h("td", { title: `${ca} vs ${cb}: mean KS ${formatNumber(v)}, ` +
        `${formatNumber(100 * toNumber(cell?.driftedShare ?? 0))}% of neurons differ` },
        i === j ? "–" : formatNumber(v));
      td.style.background = viridis(v / max);
      td.style.color = v / max > 0.6 ? "#000" : "#fff";
      if (i !== j) {
        td.tabIndex = 0;
        td.dataset.classes = `${ca},${cb}`;
        const go = () => open(`predicted=${ca}`, `predicted=${cb}`);
        td.onclick = go;
        td.onkeydown = (e) => {
          if (e.key === "Enter") go();
        };
      }
      row.append(td);
    });
    table.append(row);
  });
  main.replaceChildren(bar, table, h("p", { class: "legend" }, `Colour: mean KS scaled to the largest cell ` +
    `(${formatNumber(max)}); rows and columns are the classes the model predicted.`));
}
