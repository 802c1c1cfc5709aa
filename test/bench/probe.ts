import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack } from "../../demo/stack";
import { EdgeClient, hostToken, runJob, setUpConnection } from "./lib/edge";
import { listProcs, workerdBelow, wranglersBelow, memOf } from "./lib/proc";
import { runStage, startRawPipe } from "./lib/rawpipe";

const dir = mkdtempSync(join(tmpdir(), "dc-bench-probe-"));
const stack = await startStack({ persistTo: join(dir, "state"), rows: 12000, build: "never", log: console.log });
try {
  const api = new EdgeClient(stack.edgeUrl, await hostToken(stack.hostJwtSecret, "bench-probe"));
  const s = await setUpConnection(stack, api);
  console.log(s);
  const w = wranglersBelow(process.pid);
  console.log("wranglers", w.map((p) => p.pid + " " + p.cmdline.slice(0, 200)));
  console.log("workerd", workerdBelow(process.pid).map((p) => p.pid + " " + p.cmdline.slice(0, 300)));
  const job = await api.req("GET", `/jobs/${s.companyJobId}`);
  const object = await api.req("GET", `/objects/Company`);
  console.log(JSON.stringify(object).slice(0, 400));
  const r = await runJob(api, s.companyJobId);
  console.log(r.run, r.wallMs, r.edgeMs);
  for (const p of workerdBelow(process.pid)) console.log(p.pid, memOf(p.pid));
  const pipe = await startRawPipe(stack, join(dir, "raw"));
  const body = { orgUrl: s.orgUrl, tenantId: s.tenantId, job, object };
  for (const m of ["raw", "map", "write"] as const) console.log(await runStage(pipe, m, body));
  await pipe.stop();
} finally {
  await stack.stop();
}
