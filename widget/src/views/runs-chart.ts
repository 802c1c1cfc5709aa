import { msg, str } from "@lit/localize";
import { svg, html, type TemplateResult } from "lit";
import type { Run } from "#contract/run";
import { formatDateTime, formatNumber } from "../util/format";
import { runLabel } from "./ui";

const COLORS: Record<string, string> = {
  succeeded: "var(--dc-success)",
  partial: "var(--dc-warning)",
  failed: "var(--dc-danger)",
  running: "var(--dc-accent)",
  queued: "var(--dc-text-muted)",
};

/** A tiny SVG bar chart of the last 30 runs: height = rows read (log scale so a full sync doesn't flatten the deltas). */
export function runsChart(runs: Run[]): TemplateResult {
  const last = [...runs].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).slice(-30);
  const W = 300,
    H = 60,
    gap = 2;
  const bw = Math.max(2, (W - gap * 29) / 30);
  const max = Math.max(1, ...last.map((r) => r.counts?.read ?? 0));
  const h = (n: number) => Math.max(3, (Math.log10(n + 1) / Math.log10(max + 1)) * (H - 4));
  const tally = last.reduce<Record<string, number>>((acc, r) => ((acc[r.status] = (acc[r.status] ?? 0) + 1), acc), {});
  const list = Object.entries(tally)
    .map(([s, n]) => `${n} ${runLabel(s).toLowerCase()}`)
    .join(", ");
  const summary = msg(str`Last ${last.length} runs: ${list}`);
  return html`<figure class="chart" part="runs-chart">
    <svg viewBox="0 0 ${W} ${H}" preserveAspectRatio="none" role="img" aria-label=${summary}>
      ${last.map((r, i) => {
        const height = h(r.counts?.read ?? 0);
        return svg`<rect x=${i * (bw + gap)} y=${H - height} width=${bw} height=${height} rx="1" fill=${COLORS[r.status] ?? "var(--dc-text-muted)"}>
          <title>${formatDateTime(r.startedAt ?? r.createdAt)} — ${runLabel(r.status)}, ${msg(str`${formatNumber(r.counts?.read ?? 0)} read`)}</title></rect>`;
      })}
    </svg>
    <figcaption class="small muted">${summary}</figcaption>
  </figure>`;
}
