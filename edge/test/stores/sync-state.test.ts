/** The job's sync state straight against D1: saved with a page, read by the next run's init, delta link dropped. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { forgetDeltaLinkStatement, getSyncState, saveSyncStateStatement } from "../../src/stores/sync-state";

describe("sync state store", () => {
  it("saves, replaces and reads a job's state; an expired delta link is forgotten", async () => {
    const t = `t-${crypto.randomUUID()}`;
    expect(await getSyncState(env, t, "job_s")).toBeNull();
    await saveSyncStateStatement(
      env.DATA,
      t,
      "job_s",
      { configHash: "h1", strategy: "keyset", deltaLink: null, keyset: { modifiedon: "2024-01-01T00:00:00Z", version: 3 } },
      "now",
    ).run();
    expect(await getSyncState(env, t, "job_s")).toEqual({
      configHash: "h1",
      strategy: "keyset",
      deltaLink: null,
      keyset: { modifiedon: "2024-01-01T00:00:00Z", version: 3 },
    });
    await saveSyncStateStatement(env.DATA, t, "job_s", { configHash: "h2", strategy: "delta", deltaLink: "accounts?$deltatoken=1", keyset: null }, "now").run();
    expect(await getSyncState(env, t, "job_s")).toEqual({ configHash: "h2", strategy: "delta", deltaLink: "accounts?$deltatoken=1", keyset: null });
    await forgetDeltaLinkStatement(env.DATA, t, "job_s").run();
    expect(await getSyncState(env, t, "job_s")).toMatchObject({ configHash: "h2", deltaLink: null });
  });
});
