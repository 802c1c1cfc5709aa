/**
 * Hunts the intermittent "edge stops answering" (issue 17) by repeating, on one stack, the sequence it was seen in:
 * a sync runs, the edge's process group is SIGKILLed mid-run and started again on the same state, then 50 clients
 * load the API. Any request error prints the edge's processes (state, wait channel, fds, sockets, who holds the
 * SQLite files) and whether the edge answers again within 30 s. Not part of `npm test`; figures in docs/reliability.md.
 *
 *   npx tsx test/reliability/restart-load-loop.ts [iterations=20]   (REL_ROWS, REL_PAGE_SIZE as in the suite)
 */
import { runLoad } from "../bench/lib/load";
import { hostToken, startReliabilityStack } from "./edge-process";
import { setUpTenant, startRun, waitForRun } from "./sync-fixture";

const iterations = Number(process.argv[2] ?? 20);
const rows = Number(process.env.REL_ROWS ?? 20_000);
const pageSize = Number(process.env.REL_PAGE_SIZE ?? 1000);

const stack = await startReliabilityStack({ rows, pageSize });
let failures = 0;
try {
  for (let i = 1; i <= iterations; i++) {
    const t = await setUpTenant(stack, `loop${i}`);
    const runId = await startRun(t);
    let killed = false;
    const t0 = Date.now();
    const run = await waitForRun(t, runId, 300_000, async (r) => {
      if (!killed && (r.progress?.pages ?? 0) >= 3 && r.status === "running") {
        killed = true;
        await stack.killEdge();
        await stack.startEdge();
        const stray = stack.strayStateHolders();
        if (stray.length) console.log(`[loop ${i}] survivors of the killed edge: ${stray.join("; ")}`);
      }
    });
    const viewer = await hostToken(stack.secrets.HOST_JWT_SECRET, t.tenant, "viewer");
    const headers = { Authorization: `Bearer ${viewer}` };
    const loads = [];
    for (const url of [`${stack.edgeUrl}/api/v1/jobs`, `${stack.edgeUrl}/api/v1/objects/${t.objectName}/records?limit=50`]) {
      loads.push(await runLoad({ url, headers, concurrency: 50, durationMs: 3000, warmupPerClient: 1, timeoutMs: 10_000 }));
    }
    const errors = loads.reduce((a, l) => a + l.errors, 0);
    console.log(
      `[loop ${i}] run ${run.status} in ${Math.round((Date.now() - t0) / 1000)} s (killed: ${killed}); load ${loads
        .map((l) => `${l.requests} req, ${l.errors} errors, p99 ${Math.round(l.p99)} ms`)
        .join(" | ")}`,
    );
    if (errors > 0 || run.status !== "succeeded") {
      failures++;
      console.log(stack.diagnose());
      let recovered = false;
      for (let s = 0; s < 30 && !recovered; s++) {
        recovered = await fetch(`${stack.edgeUrl}/api/v1/health`, { signal: AbortSignal.timeout(1000) }).then(
          (r) => r.ok,
          () => false,
        );
        if (!recovered) await new Promise((r) => setTimeout(r, 1000));
      }
      console.log(`[loop ${i}] edge answers again within 30 s: ${recovered}`);
      if (!recovered) break;
    }
  }
} finally {
  await stack.stop();
}
console.log(`${failures} failing iteration(s) of ${iterations}`);
process.exit(failures ? 1 : 0);
