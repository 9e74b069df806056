import type { LoadResult } from "./stats.ts";

/**
 * A small SVG chart: latency percentiles (lines, left axis, ms) and throughput
 * (bars, right axis, ops/s) against concurrency, for end-to-end payments and the
 * DynamoDB floor. Written by hand: a few dozen lines do not justify a chart library.
 */
export function latencyChart(e2e: readonly LoadResult[], floor: readonly LoadResult[]): string {
  const W = 720;
  const H = 360;
  const pad = { l: 60, r: 70, t: 40, b: 50 };
  const xs = e2e.map((r) => r.concurrency);
  const maxLat = Math.max(1, ...e2e.map((r) => r.p99), ...floor.map((r) => r.p99));
  const maxTput = Math.max(1, ...e2e.map((r) => r.perSecond), ...floor.map((r) => r.perSecond));
  const plotW = W - pad.l - pad.r;
  const plotH = H - pad.t - pad.b;
  const x = (i: number) => pad.l + (plotW * (i + 0.5)) / xs.length;
  const yLat = (v: number) => pad.t + plotH - (plotH * v) / maxLat;
  const yTput = (v: number) => pad.t + plotH - (plotH * v) / maxTput;
  const parts: string[] = [];
  const barW = plotW / xs.length / 5;
  e2e.forEach((r, i) => {
    const f = floor[i];
    parts.push(
      `<rect x="${x(i) - barW}" y="${yTput(r.perSecond)}" width="${barW}" height="${pad.t + plotH - yTput(r.perSecond)}" fill="#9ecae1"><title>end-to-end ${r.perSecond.toFixed(0)} payments/s</title></rect>`,
    );
    if (f) {
      parts.push(
        `<rect x="${x(i)}" y="${yTput(f.perSecond)}" width="${barW}" height="${pad.t + plotH - yTput(f.perSecond)}" fill="#d9d9d9"><title>floor ${f.perSecond.toFixed(0)} tx/s</title></rect>`,
      );
    }
    parts.push(
      `<text x="${x(i)}" y="${H - pad.b + 20}" text-anchor="middle" font-size="12">${r.concurrency}</text>`,
    );
  });
  const line = (
    rows: readonly LoadResult[],
    key: "p50" | "p95" | "p99",
    color: string,
    dash = "",
  ) =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" ${dash ? `stroke-dasharray="${dash}"` : ""} points="${rows
      .map((r, i) => `${x(i)},${yLat(r[key])}`)
      .join(" ")}"/>`;
  parts.push(line(e2e, "p50", "#08519c"), line(e2e, "p95", "#3182bd"), line(e2e, "p99", "#6baed6"));
  parts.push(line(floor, "p50", "#636363", "4 3"), line(floor, "p99", "#969696", "4 3"));
  for (let k = 0; k <= 4; k++) {
    const v = (maxLat * k) / 4;
    const t = (maxTput * k) / 4;
    parts.push(
      `<text x="${pad.l - 8}" y="${yLat(v) + 4}" text-anchor="end" font-size="11">${v.toFixed(0)}</text>`,
      `<text x="${W - pad.r + 8}" y="${yTput(t) + 4}" font-size="11">${t.toFixed(0)}</text>`,
      `<line x1="${pad.l}" x2="${W - pad.r}" y1="${yLat(v)}" y2="${yLat(v)}" stroke="#eee"/>`,
    );
  }
  const legend = [
    ["#08519c", "e2e p50"],
    ["#3182bd", "e2e p95"],
    ["#6baed6", "e2e p99"],
    ["#636363", "floor p50 (dashed)"],
    ["#969696", "floor p99 (dashed)"],
    ["#9ecae1", "e2e payments/s (bars)"],
    ["#d9d9d9", "floor tx/s (bars)"],
  ];
  legend.forEach(([color, label], i) => {
    parts.push(
      `<rect x="${pad.l + (i % 4) * 150}" y="${8 + Math.floor(i / 4) * 14}" width="10" height="10" fill="${color}"/>`,
      `<text x="${pad.l + (i % 4) * 150 + 14}" y="${17 + Math.floor(i / 4) * 14}" font-size="11">${label}</text>`,
    );
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    ...parts,
    `<text x="${pad.l + plotW / 2}" y="${H - 12}" text-anchor="middle" font-size="12">concurrent clients</text>`,
    `<text x="16" y="${pad.t + plotH / 2}" transform="rotate(-90 16 ${pad.t + plotH / 2})" text-anchor="middle" font-size="12">latency (ms)</text>`,
    `<text x="${W - 12}" y="${pad.t + plotH / 2}" transform="rotate(90 ${W - 12} ${pad.t + plotH / 2})" text-anchor="middle" font-size="12">per second</text>`,
    "</svg>",
  ].join("\n");
}
