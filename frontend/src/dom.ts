// Small DOM helpers: elements built with text content (never HTML from data), times for people.

type Child = Node | string;

/** An element with attributes and children; text children are text nodes, so data is never parsed as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {},
    ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** A paragraph saying there is nothing to show, and why. */
export function empty(text: string): HTMLElement {
  return h("p", { class: "empty" }, text);
}

/** "Loading…" while a view's first answer is on its way; kept content stays during a refresh. */
export function loading(main: HTMLElement): void {
  if (!main.firstChild) main.append(empty("Loading…"));
}

/** An ISO time as HH:MM:SS UTC (the platform's windows are UTC minutes). */
export function clock(iso: string | undefined): string {
  return iso ? iso.slice(11, 19) : "–";
}

/** A select of values with labels, calling back with the chosen value. */
export function choice(label: string, options: { value: string; label: string }[], value: string,
    onChange: (v: string) => void): HTMLLabelElement {
  const select = h("select");
  for (const o of options) select.append(h("option", { value: o.value }, o.label));
  select.value = value;
  select.onchange = () => onChange(select.value);
  return h("label", {}, `${label} `, select);
}

/** A strip of cells on a canvas, one per value (colour from {@code colour}), as wide as its container. */
export function strip(values: number[], colour: (v: number) => string, label: string): HTMLCanvasElement {
  const canvas = h("canvas", { role: "img", "aria-label": label, class: "strip" });
  canvas.width = Math.max(1, values.length);
  canvas.height = 1;
  const g = canvas.getContext("2d");
  values.forEach((v, i) => {
    if (g) {
      g.fillStyle = colour(v);
      g.fillRect(i, 0, 1, 1);
    }
  });
  return canvas;
}
