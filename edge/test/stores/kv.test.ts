/** listValues reads every value under a prefix with KV's bulk get (100 keys a call), past one call's and one list page's worth. */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { listValues } from "../../src/stores/kv";

describe("listValues", () => {
  it("returns every value under the prefix, however many bulk reads and list pages it takes, and nothing outside it", async () => {
    const prefix = `t/kv-${crypto.randomUUID()}/job/`;
    const count = 1_234; // > 1,000 keys (one list page) and not a multiple of 100 (one bulk read)
    for (let i = 0; i < count; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, count - i) }, (_, k) => env.CONFIG.put(`${prefix}${String(i + k).padStart(5, "0")}`, JSON.stringify({ n: i + k }))),
      );
    }
    await env.CONFIG.put(`${prefix.slice(0, -1)}x/outside`, JSON.stringify({ n: -1 }));
    const values = await listValues<{ n: number }>(env, prefix);
    expect(values.map((v) => v.n).sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(await listValues(env, `t/kv-${crypto.randomUUID()}/job/`)).toEqual([]);
  });
});
