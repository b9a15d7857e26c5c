#!/usr/bin/env node
// Copies front-end libraries from node_modules into caresync/web/static/vendor/
// and builds the icon sprite. Run from the repo root: `npm run build`.
// No dependencies beyond Node built-ins; fails loudly (exit 1) on anything missing.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "node_modules");
const out = join(root, "caresync", "web", "static", "vendor");

// Icon names as they exist in lucide-static. Lucide renamed several icons; the
// `ALIASES` below keep the older names usable as sprite ids too.
const ICONS = [
  "layout-dashboard", "book-open", "activity", "users", "user", "calendar", "calendar-days",
  "clipboard-list", "file-text", "message-square", "bell", "settings", "log-out", "menu",
  "panel-left-close", "panel-left-open", "chevron-down", "chevron-right", "chevron-left",
  "chevrons-up-down", "building-2", "stethoscope", "heart-pulse", "credit-card", "chart-column",
  "search", "x", "check", "circle-check", "triangle-alert", "circle-alert", "info", "video",
  "phone", "scan", "shield-check", "clock", "plus", "wifi", "wifi-off", "inbox", "user-plus",
  "mic", "circle-help", "arrow-right", "arrow-left", "house", "lock", "server", "database",
  "radio", "timer", "refresh-cw", "globe", "list-checks", "pill", "receipt", "user-check",
  "sparkles", "circle-x",
];
const ALIASES = {
  "bar-chart-3": "chart-column",
  "check-circle-2": "circle-check",
  "alert-triangle": "triangle-alert",
  "alert-circle": "circle-alert",
  "help-circle": "circle-help",
  "x-circle": "circle-x",
};

const FILES = [
  ["htmx.org/dist/htmx.min.js", "htmx.min.js"],
  ["chart.js/dist/chart.umd.min.js", "chart.umd.min.js"],
  ["fullcalendar/index.global.min.js", "fullcalendar.min.js"],
  // The premium bundle (standard plugins + resource views) for the staff calendar; GPLv3 option
  // of its tri-licence, which the AGPL-3.0 project meets (schedulerLicenseKey in calendar.js).
  ["fullcalendar-scheduler/index.global.min.js", "fullcalendar-scheduler.min.js"],
  ...[400, 500, 600, 700].map((w) => [
    `@fontsource/inter/files/inter-latin-${w}-normal.woff2`,
    `inter/inter-latin-${w}-normal.woff2`,
  ]),
];

const problems = [];

for (const [from, to] of FILES) {
  const src = join(modules, from);
  if (!existsSync(src)) {
    problems.push(`missing ${from} (run \`npm install\`)`);
    continue;
  }
  const dest = join(out, to);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(src, dest);
}

const iconDir = join(modules, "lucide-static", "icons");
const symbols = [];
const inner = {};
for (const name of ICONS) {
  const file = join(iconDir, `${name}.svg`);
  if (!existsSync(file)) {
    problems.push(`missing lucide icon "${name}"`);
    continue;
  }
  const svg = readFileSync(file, "utf8").replace(/<!--[\s\S]*?-->/g, "");
  const viewBox = /viewBox="([^"]+)"/.exec(svg)?.[1];
  const body = /<svg[^>]*>([\s\S]*?)<\/svg>/.exec(svg)?.[1];
  if (!viewBox || body === undefined) {
    problems.push(`could not parse lucide icon "${name}"`);
    continue;
  }
  inner[name] = { viewBox, body: body.replace(/\s*\n\s*/g, "").trim() };
}
const attrs =
  'fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"';
const symbol = (id, { viewBox, body }) =>
  `<symbol id="${id}" viewBox="${viewBox}" ${attrs}>${body}</symbol>`;
for (const name of ICONS) if (inner[name]) symbols.push(symbol(name, inner[name]));
for (const [alias, target] of Object.entries(ALIASES)) {
  if (!inner[target]) problems.push(`alias "${alias}" points at missing icon "${target}"`);
  else symbols.push(symbol(alias, inner[target]));
}

if (problems.length) {
  for (const p of problems) console.error(`vendor-assets: ${p}`);
  process.exit(1);
}

mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, "icons.svg"),
  `<svg xmlns="http://www.w3.org/2000/svg"><!-- lucide-static, ISC licence -->\n${symbols.join("\n")}\n</svg>\n`,
);
console.log(
  `vendor-assets: ${FILES.length} files and ${symbols.length} icons ` +
    `(${ICONS.length} + ${Object.keys(ALIASES).length} aliases) -> ${out.slice(root.length + 1)}/`,
);
