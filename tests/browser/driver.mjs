// One headless Chromium page driven over JSON lines on stdin/stdout (as the adapters speak to the
// harness), so that the browser tests, bench/site_size.py and scripts/site-screenshots.py are
// written in Python and pay the browser's start once. tests/browser/driver.py is the other end.
//
//   {"op":"goto","url":"file:///…/index.html"}  -> {"ok":true,"url":…,"fcp_ms":…,"load_ms":…}
//   {"op":"click","selector":"…"}  {"op":"fill","selector":"…","value":"…"}  {"op":"select",…}
//   {"op":"press","key":"ArrowRight"}  {"op":"wait","selector":"…","state":"visible"}
//   {"op":"eval","js":"() => …"}  -> {"ok":true,"value":…}
//   {"op":"screenshot","path":"…png","full_page":false}
//   {"op":"bye"}
// Every answer carries the page's errors so far and the requests that tried to leave file://.
import readline from "node:readline";
import { launch, watch } from "./launch.mjs";

const { context, outside, close } = await launch();
const page = await context.newPage();
const errors = watch(page);
const TIMEOUT = 15000;

async function handle(req) {
  switch (req.op) {
    case "goto": {
      const t0 = Date.now();
      await page.goto(req.url, { waitUntil: "load", timeout: TIMEOUT });
      const load_ms = Date.now() - t0;
      // First contentful paint as the page measured it (the first view a reader sees).
      // It may be recorded after "load": wait for it a little.
      const fcp_ms = await page.evaluate(() => new Promise((resolve) => {
        const now = () => performance.getEntriesByName("first-contentful-paint")[0];
        if (now()) return resolve(now().startTime);
        new PerformanceObserver(() => { if (now()) resolve(now().startTime); }).observe({ type: "paint", buffered: true });
        setTimeout(() => resolve(now() ? now().startTime : null), 3000);
      }));
      return { url: page.url(), load_ms, fcp_ms };
    }
    case "click":
      await page.click(req.selector, { timeout: TIMEOUT });
      await page.waitForLoadState("load");
      return { url: page.url() };
    case "fill":
      await page.fill(req.selector, req.value, { timeout: TIMEOUT });
      return {};
    case "select":
      await page.selectOption(req.selector, req.value, { timeout: TIMEOUT });
      return {};
    case "press":
      await page.keyboard.press(req.key);
      return { url: page.url() };
    case "focus":
      await page.focus(req.selector, { timeout: TIMEOUT });
      return {};
    case "wait":
      await page.waitForSelector(req.selector, { state: req.state || "visible", timeout: req.timeout || TIMEOUT });
      return {};
    case "eval":
      // req.js is a function's source: called in the page, its (awaited) value comes back.
      return { value: (await page.evaluate(`(${req.js})()`)) ?? null };
    case "screenshot":
      if (req.width) await page.setViewportSize({ width: req.width, height: req.height || 1000 });
      await page.screenshot({ path: req.path, fullPage: !!req.full_page });
      return {};
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

const rl = readline.createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const req = JSON.parse(line);
  if (req.op === "bye") break;
  let out;
  try {
    out = { ok: true, ...(await handle(req)) };
  } catch (e) {
    out = { ok: false, error: String(e && e.message || e).split("\n")[0] };
  }
  out.errors = errors.splice(0);
  out.outside = outside.splice(0);
  process.stdout.write(JSON.stringify(out) + "\n");
}
await close();
process.exit(0);
