// What every browser test shares: Debian's Chromium driven by playwright-core (no browser download), the
// platform's address and token from the Java test that started it, screenshots as build artifacts.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: these tests run from WebUiTest (services/harness/end-to-end), which starts ` +
    "the platform with deploy/run-local.sh");
  return v;
}

export const UI = required("ND_UI_URL");
export const TOKEN = required("ND_TOKEN");
export const URL_PRINTED_AT = Number(required("ND_URL_PRINTED_AT"));
const SCREENSHOTS = required("ND_SCREENSHOTS");
export const MODEL = "mnist-cnn";
export const VIEWPORTS = { small: { width: 1280, height: 800 }, large: { width: 1920, height: 1080 } };

/** Debian's chromium, headless; --no-sandbox because CI runs as root, where Chromium's sandbox refuses to start. */
export async function launch() {
  return chromium.launch({ executablePath: process.env.ND_CHROMIUM ?? "/usr/bin/chromium", headless: true,
    args: ["--no-sandbox"] });
}

/** A page at {@code fragment}, holding the API token as the token prompt would have stored it (unless null). */
export async function open(browser, fragment, { token = TOKEN, viewport = VIEWPORTS.small } = {}) {
  const context = await browser.newContext({ viewport });
  if (token) await context.addInitScript((t) => sessionStorage.setItem("nd.token", t), token);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.errors = errors;
  await page.goto(`${UI}#${fragment}`);
  return page;
}

/** Saves a screenshot of the whole page as {@code <name>-<width>x<height>.png}. */
export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const v = page.viewportSize();
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-${v.width}x${v.height}.png`), fullPage: true });
}

/** The JSON mirror as the UI calls it, for the expected values. */
export async function api(method, path, body) {
  const r = await fetch(`${UI}api/v1/${path}`, { method, headers: { Authorization: `Bearer ${TOKEN}`,
    "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

/** The model's taps in network order, from the catalog. */
export async function taps() {
  const catalog = await api("GET", "catalog");
  const version = catalog.models.find((m) => m.modelId === MODEL).versions[0];
  return version.taps.slice().sort((x, y) => x.index - y.index);
}

/**
 * A closed side B: from the minute the URL was printed in (live traffic starts then) to the last whole minute, at
 * least one minute long; waits until that minute has ended (and 10 s more for its last flush), so that the page and
 * the test read the same, unchanging windows, with live traffic in them.
 */
export async function closedRange() {
  const minute = 60_000;
  // the first minute with traffic: a URL printed in the last seconds of a minute leaves that minute (nearly) empty
  const from = Math.floor((URL_PRINTED_AT + 15_000) / minute) * minute;
  const to = Math.max(from + minute, Math.floor((Date.now() - 10_000) / minute) * minute);
  const wait = to + 10_000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const iso = (t) => new Date(t).toISOString().replace(".000Z", "Z");
  return { from: iso(from), to: iso(to) };
}

/** The view fits the window's width: no horizontal scrolling at 1280 px or wider. */
export async function assertFits(page, assert) {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth,
    width: window.innerWidth }));
  assert.ok(scroll <= width, `the page is ${scroll} px wide in a ${width} px window`);
}
