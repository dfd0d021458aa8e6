// Headless Chromium for the site's tests and bench/site.py: Debian's chromium (ZC_CHROMIUM names it),
// driven by playwright-core (pinned in package-lock.json; it downloads no browser), with a fresh profile
// and nothing that reaches the network.
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export async function launch(viewport = { width: 1400, height: 1000 }) {
  const executablePath = process.env.ZC_CHROMIUM || "/usr/bin/chromium";
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "zc-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, viewport, args: FLAGS, offline: false,
  });
  // Nothing outside the site may load: any request that is not file:// fails the page.
  const outside = [];
  await context.route(/^(?!file:)/, (route) => { outside.push(route.request().url()); route.abort(); });
  const close = async () => {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { context, outside, close };
}

export function watch(page) {
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  return errors;
}
