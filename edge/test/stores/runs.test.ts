/** The runs store's writes straight against D1: notes, the delta-expiry restart, the page checkpoint, init → pages. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  appendNoteStatement,
  cancelRun,
  checkpointStatement,
  createRun,
  getRunRow,
  restartAsFullReadStatement,
  startReading,
  toRun,
} from "../../src/stores/runs";

const tenant = () => `t-${crypto.randomUUID()}`;
const counts = { read: 3, inserted: 2, updated: 1, deleted: 0, skipped: 0, failed: 0 };

describe("runs store", () => {
  it("appends a note once, however often the same step appends it", async () => {
    const t = tenant();
    const run = await createRun(env, t, "job_n", "manual");
    await env.DATA.batch([appendNoteStatement(env.DATA, run.id, "first"), appendNoteStatement(env.DATA, run.id, "second")]);
    await appendNoteStatement(env.DATA, run.id, "first").run();
    expect(toRun((await getRunRow(env, t, run.id))!).notes).toEqual(["first", "second"]);
  });

  it("init → pages: fixes the read into the row, and leaves a run cancelled meanwhile cancelled", async () => {
    const t = tenant();
    const run = await createRun(env, t, "job_i", "manual");
    await startReading(env.DATA, run.id, {
      strategy: "keyset",
      plan: "{}",
      nextLink: null,
      keyset: { modifiedon: "2024-01-01T00:00:00Z", version: 7 },
      totalEstimate: 10,
      leaseUntil: 1,
    });
    expect(await getRunRow(env, t, run.id)).toMatchObject({
      status: "running",
      phase: "pages",
      strategy: "keyset",
      keyset_modifiedon: "2024-01-01T00:00:00Z",
      keyset_version: 7,
      total_estimate: 10,
    });

    const cancelled = await createRun(env, t, "job_c", "manual");
    expect(await cancelRun(env, t, cancelled.id, "admin@example.com")).toBe(true);
    await startReading(env.DATA, cancelled.id, { strategy: "full", plan: "{}", nextLink: "accounts", keyset: null, totalEstimate: null, leaseUntil: 1 });
    expect(await getRunRow(env, t, cancelled.id)).toMatchObject({
      status: "failed",
      phase: "init",
      error_code: "cancelled",
      error_message: "Cancelled by admin@example.com",
    });
  });

  it("restarts as a full read only while active and at the page it was at, with its note", async () => {
    const t = tenant();
    const run = await createRun(env, t, "job_r", "manual");
    await restartAsFullReadStatement(env.DATA, run.id, 5, "accounts?x", "token expired").run(); // not at page 5: no change
    expect(await getRunRow(env, t, run.id)).toMatchObject({ strategy: null, next_link: null, notes: "[]" });
    await restartAsFullReadStatement(env.DATA, run.id, 0, "accounts?x", "token expired").run();
    expect(await getRunRow(env, t, run.id)).toMatchObject({ strategy: "full", next_link: "accounts?x", notes: '["token expired"]' });
  });

  it("a checkpoint only follows the one before it", async () => {
    const t = tenant();
    const run = await createRun(env, t, "job_p", "manual");
    const cp = (page: number) =>
      checkpointStatement(env.DATA, run.id, {
        page,
        counts,
        errorRows: 1,
        phase: "pages",
        nextLink: `next${page}`,
        keyset: null,
        pendingDeltaLink: null,
        leaseUntil: 1,
      });
    await cp(2).run(); // page 1 is missing: ignored
    await cp(1).run();
    await cp(1).run(); // a repeated page 1: ignored
    expect(await getRunRow(env, t, run.id)).toMatchObject({
      pages: 1,
      read_count: 3,
      inserted_count: 2,
      updated_count: 1,
      error_rows: 1,
      next_link: "next1",
      attempts: 0,
    });
  });
});
