/**
 * Stream permits per organization (edge/src/sync/org-permits.ts): at most ORG_STREAM_PERMITS streams of an org hold a
 * permit at once; 429s and low headroom halve the limit (once per 10 s), and it grows back one a minute. Time is moved
 * by shifting the DO's stored timestamps back (runInDurableObject), never by sleeping. The test worker's
 * ORG_STREAM_PERMITS is wrangler.toml's "4".
 */
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { maxStreams, orgPermits, STATE_KEY, type OrgPermits, type PermitState } from "../../src/sync/org-permits";

type Permits = DurableObjectStub<OrgPermits>;

/** A fresh organization's permits: tests never share state. */
const freshOrg = (): Permits => orgPermits(env, `org-${crypto.randomUUID()}`);

/** As if `ms` passed: every stored timestamp (expiries, last decrease, last growth) moves back by `ms`. */
async function passTime(permits: Permits, ms: number): Promise<void> {
  await runInDurableObject(permits, (_instance, state) => {
    const s = state.storage.kv.get<PermitState>(STATE_KEY);
    if (!s) throw new Error("no stored permit state yet");
    const holders = Object.fromEntries(Object.entries(s.holders).map(([h, at]) => [h, at - ms]));
    state.storage.kv.put<PermitState>(STATE_KEY, { ...s, lastDecreaseAt: s.lastDecreaseAt - ms, lastGrowthAt: s.lastGrowthAt - ms, holders });
  });
}

/** The message a call failed with; fails the test when the call succeeds. (An RPC promise handed to
 * `expect().rejects` is also rejected once more, unhandled, so it is awaited here instead.) */
async function failure(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  throw new Error("expected the call to fail");
}

const throttled = { throttled: true, headroomFraction: null };
const limitOf = async (permits: Permits) => (await permits.status()).limit;

describe("granting", () => {
  it("grants exactly max permits and refuses the next with a retry delay", async () => {
    const permits = freshOrg();
    for (const holder of ["a", "b", "c", "d"]) expect(await permits.acquire(holder, 60_000)).toEqual({ granted: true, limit: 4 });
    // Every expiry is 60 s away: the retry delay is clamped to 5 s.
    expect(await permits.acquire("e", 60_000)).toEqual({ granted: false, retryMs: 5_000, limit: 4 });
    expect(await permits.status()).toEqual({ limit: 4, max: 4, held: 4, holders: ["a", "b", "c", "d"] });
  });

  it("refuses with the time until the soonest expiry, never below 250 ms", async () => {
    const permits = freshOrg();
    for (const holder of ["a", "b", "c", "d"]) await permits.acquire(holder, 60_000);
    // Inside the DO in one turn, Date.now() does not move: the expiries set here are exact.
    const [soonest1234, soonest100] = await runInDurableObject(permits, async (instance: OrgPermits, state) => {
      const s = state.storage.kv.get<PermitState>(STATE_KEY)!;
      const now = Date.now();
      state.storage.kv.put<PermitState>(STATE_KEY, { ...s, holders: { ...s.holders, b: now + 1_234, c: now + 3_000 } });
      const first = await instance.acquire("e", 60_000);
      state.storage.kv.put<PermitState>(STATE_KEY, { ...s, holders: { ...s.holders, b: now + 100 } });
      return [first, await instance.acquire("e", 60_000)];
    });
    expect(soonest1234).toEqual({ granted: false, retryMs: 1_234, limit: 4 });
    expect(soonest100).toEqual({ granted: false, retryMs: 250, limit: 4 });
  });

  it("renewing by the same holder does not take a second permit", async () => {
    const permits = freshOrg();
    for (const holder of ["a", "b", "c"]) await permits.acquire(holder, 60_000);
    expect(await permits.acquire("a", 60_000)).toEqual({ granted: true, limit: 4 });
    expect((await permits.status()).held).toBe(3);
    expect(await permits.acquire("d", 60_000)).toMatchObject({ granted: true });
    // Full, yet a holder still renews.
    expect(await permits.acquire("a", 60_000)).toMatchObject({ granted: true });
    expect(await permits.acquire("e", 60_000)).toMatchObject({ granted: false });
  });

  it("renewing extends the expiry", async () => {
    const permits = freshOrg();
    await permits.acquire("a", 30_000);
    await passTime(permits, 20_000);
    await permits.acquire("a", 30_000); // now expires 30 s from here
    await passTime(permits, 20_000);
    expect((await permits.status()).holders).toEqual(["a"]);
  });

  it("release frees the permit", async () => {
    const permits = freshOrg();
    for (const holder of ["a", "b", "c", "d"]) await permits.acquire(holder, 60_000);
    await permits.release("b");
    expect((await permits.status()).holders).toEqual(["a", "c", "d"]);
    expect(await permits.acquire("e", 60_000)).toMatchObject({ granted: true });
    await permits.release("not-a-holder"); // harmless
    expect((await permits.status()).held).toBe(4);
  });

  it("an expired holder frees its permit by itself", async () => {
    const permits = freshOrg();
    await permits.acquire("crashed", 30_000);
    for (const holder of ["b", "c", "d"]) await permits.acquire(holder, 120_000);
    expect(await permits.acquire("e", 60_000)).toMatchObject({ granted: false });
    await passTime(permits, 29_000);
    expect((await permits.status()).holders).toContain("crashed");
    await passTime(permits, 1_000);
    expect((await permits.status()).holders).toEqual(["b", "c", "d"]);
    expect(await permits.acquire("e", 60_000)).toMatchObject({ granted: true });
  });
});

describe("multiplicative decrease", () => {
  it("a 429 halves the limit, 4 → 2 → 1 and never below 1, once per 10 s", async () => {
    const permits = freshOrg();
    await permits.report(throttled);
    expect(await limitOf(permits)).toBe(2);
    await permits.report(throttled); // the same burst, seen by another stream
    expect(await limitOf(permits)).toBe(2);
    await passTime(permits, 9_000);
    await permits.report(throttled);
    expect(await limitOf(permits)).toBe(2);
    await passTime(permits, 1_000);
    await permits.report(throttled);
    expect(await limitOf(permits)).toBe(1);
    await passTime(permits, 10_000);
    await permits.report(throttled);
    expect(await limitOf(permits)).toBe(1);
  });

  it("headroom below 10 % decreases, 10 % or more (or unknown) does not", async () => {
    const permits = freshOrg();
    await permits.report({ throttled: false, headroomFraction: 0.1 });
    await permits.report({ throttled: false, headroomFraction: 0.8 });
    await permits.report({ throttled: false, headroomFraction: null });
    expect(await limitOf(permits)).toBe(4);
    await permits.report({ throttled: false, headroomFraction: 0.09 });
    expect(await limitOf(permits)).toBe(2);
  });

  it("held permits are not revoked; new grants wait until fewer than the limit are held", async () => {
    const permits = freshOrg();
    for (const holder of ["a", "b", "c", "d"]) await permits.acquire(holder, 60_000);
    await permits.report(throttled);
    expect(await permits.status()).toMatchObject({ limit: 2, held: 4 });
    expect(await permits.acquire("a", 60_000)).toEqual({ granted: true, limit: 2 }); // a holder still renews
    await permits.release("a");
    await permits.release("b");
    expect(await permits.acquire("e", 60_000)).toMatchObject({ granted: false, limit: 2 });
    await permits.release("c");
    expect(await permits.acquire("e", 60_000)).toEqual({ granted: true, limit: 2 });
  });
});

describe("additive increase", () => {
  it("grows back by one per 60 s without a decrease, up to max", async () => {
    const permits = freshOrg();
    await permits.report(throttled);
    await passTime(permits, 10_000);
    await permits.report(throttled);
    expect(await limitOf(permits)).toBe(1);
    await passTime(permits, 59_000);
    expect(await limitOf(permits)).toBe(1);
    await passTime(permits, 1_000);
    expect(await limitOf(permits)).toBe(2);
    await passTime(permits, 60_000);
    expect(await limitOf(permits)).toBe(3);
    await passTime(permits, 60_000);
    expect(await limitOf(permits)).toBe(4);
    await passTime(permits, 600_000);
    expect(await limitOf(permits)).toBe(4);
  });

  it("a decrease restarts the growth clock", async () => {
    const permits = freshOrg();
    await permits.report(throttled); // 2
    await passTime(permits, 50_000);
    await permits.report(throttled); // 1, and the next +1 is 60 s from here, not 10 s
    await passTime(permits, 30_000);
    expect(await limitOf(permits)).toBe(1);
    await passTime(permits, 30_000);
    expect(await limitOf(permits)).toBe(2);
  });

  it("growth is credited from the stored timestamps, even many minutes at once", async () => {
    const permits = freshOrg();
    await permits.report(throttled);
    await passTime(permits, 10_000);
    await permits.report(throttled);
    await passTime(permits, 150_000); // two and a half minutes unobserved
    expect(await limitOf(permits)).toBe(3);
    await passTime(permits, 30_000); // the half minute already elapsed counts towards the next step
    expect(await limitOf(permits)).toBe(4);
  });
});

describe("the maximum", () => {
  it("a stored limit above the current max is clamped", async () => {
    const permits = freshOrg();
    await permits.acquire("a", 60_000);
    await runInDurableObject(permits, (_instance, state) => {
      const s = state.storage.kv.get<PermitState>(STATE_KEY)!;
      state.storage.kv.put<PermitState>(STATE_KEY, { ...s, limit: 10 });
    });
    expect(await permits.status()).toMatchObject({ limit: 4, max: 4 });
    for (const holder of ["b", "c", "d"]) await permits.acquire(holder, 60_000);
    expect(await permits.acquire("e", 60_000)).toMatchObject({ granted: false, limit: 4 });
  });

  describe("maxStreams (ORG_STREAM_PERMITS)", () => {
    afterEach(() => vi.restoreAllMocks());
    const withVar = (value: string | undefined) => ({ ORG_STREAM_PERMITS: value }) as unknown as Env;

    it("reads whole numbers 1..16; empty or missing is the default 4", () => {
      expect(maxStreams(withVar("1"))).toBe(1);
      expect(maxStreams(withVar("7"))).toBe(7);
      expect(maxStreams(withVar(" 16 "))).toBe(16);
      expect(maxStreams(withVar(""))).toBe(4);
      expect(maxStreams(withVar(undefined))).toBe(4);
      expect(maxStreams(env)).toBe(4);
    });

    it("anything else is 4, with one warning per bad value", () => {
      const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
      for (const bad of ["0", "17", "2.5", "-3", "four", "1e1"]) expect(maxStreams(withVar(bad))).toBe(4);
      expect(warn).toHaveBeenCalledTimes(6);
      expect(String(warn.mock.calls[0]![0])).toContain("ORG_STREAM_PERMITS");
      expect(maxStreams(withVar("17"))).toBe(4);
      expect(warn).toHaveBeenCalledTimes(6);
    });
  });
});

describe("bad arguments", () => {
  it("throw an error naming the argument", async () => {
    const permits = freshOrg();
    expect(await failure(permits.acquire("", 1_000))).toMatch(/holder/);
    expect(await failure(permits.acquire("x".repeat(201), 1_000))).toMatch(/holder/);
    expect(await failure(permits.acquire(42 as unknown as string, 1_000))).toMatch(/holder/);
    for (const ttlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 600_001]) {
      expect(await failure(permits.acquire("a", ttlMs))).toMatch(/ttlMs/);
    }
    expect(await failure(permits.acquire("a", "1000" as unknown as number))).toMatch(/ttlMs/);
    expect(await failure(permits.release(""))).toMatch(/holder/);
    expect(await failure(permits.report({ throttled: "yes" as unknown as boolean, headroomFraction: null }))).toMatch(/throttled/);
    expect(await failure(permits.report({ throttled: false, headroomFraction: 1.5 }))).toMatch(/headroomFraction/);
    expect(await failure(permits.report({ throttled: false, headroomFraction: Number.NaN }))).toMatch(/headroomFraction/);
    // None of them took a permit or changed the limit; the limits of the checks are accepted.
    expect(await permits.status()).toMatchObject({ limit: 4, held: 0 });
    expect(await permits.acquire("x".repeat(200), 600_000)).toMatchObject({ granted: true });
    await permits.report({ throttled: false, headroomFraction: 0 });
    expect(await limitOf(permits)).toBe(2);
  });
});
