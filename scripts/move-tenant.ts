/**
 * Moves a host tenant to another D1 shard by driving the edge's operator API step by step (docs/operations.md "Moving a
 * tenant between shards"):
 *
 *   OPERATOR_TOKEN=… npm run ops:move-tenant -- --tenant <tenant> --to DATA_2 --edge https://edge.example.com [--wait 600]
 *
 * The token comes from the environment, never the command line (process lists show arguments). While the tenant has a
 * run queued or running the edge refuses; --wait <seconds> retries every 15 s for that long. Each step copies or deletes
 * at most a few hundred rows, so a large tenant takes many steps; a step whose answer was lost is simply sent again.
 */
import { parseArgs } from "node:util";

interface MoveProgress {
  tenant: string;
  from: string;
  to: string;
  phase: "copying" | "deleting" | "done";
  cursor: unknown;
  copied: number;
  deleted: number;
}

const { values } = parseArgs({
  options: { tenant: { type: "string" }, to: { type: "string" }, edge: { type: "string" }, wait: { type: "string", default: "0" } },
});
const token = process.env.OPERATOR_TOKEN ?? "";
if (!values.tenant || !values.to || !values.edge || !token) {
  console.error("usage: OPERATOR_TOKEN=… npm run ops:move-tenant -- --tenant <tenant> --to <DATA_n> --edge <edge URL> [--wait <seconds>]");
  process.exit(2);
}
const url = new URL(`/ops/v1/tenants/${encodeURIComponent(values.tenant)}/move`, values.edge).href;
const waitUntil = Date.now() + Number(values.wait) * 1000;

async function step(cursor: unknown): Promise<MoveProgress> {
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ to: values.to, cursor }),
      });
    } catch (e) {
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 2000 * attempt)); // the same step again: copies and deletes converge
      continue;
    }
    const body = (await res.json()) as MoveProgress & { error?: { code: string; message: string } };
    if (res.ok) return body;
    if (body.error?.code === "run_in_progress" && cursor === null && Date.now() < waitUntil) {
      console.log(`waiting: ${body.error.message}`);
      await new Promise((r) => setTimeout(r, 15_000));
      continue;
    }
    if (res.status >= 500 && res.status !== 503 && attempt < 5) continue;
    throw new Error(`${res.status} ${body.error?.code ?? ""}: ${body.error?.message ?? JSON.stringify(body)}`);
  }
}

let cursor: unknown = null;
let copied = 0;
let deleted = 0;
for (;;) {
  const p = await step(cursor);
  copied += p.copied;
  deleted += p.deleted;
  console.log(`${p.tenant}: ${p.from} → ${p.to} ${p.phase} (rows copied ${copied}, deleted ${deleted})`);
  if (p.phase === "done") break;
  cursor = p.cursor;
}
