import { describe, expect, it } from "vitest";
import type { AttributeInfo, EntityInfo } from "#contract/metadata";
import { MemoryStore } from "./kv-store";
import { DAY_MS, MetadataCache, type CachedMetadata } from "./metadata-cache";

const entity = (n: string): EntityInfo => ({
  logicalName: n,
  displayName: n,
  entitySetName: `${n}s`,
  primaryIdAttribute: `${n}id`,
  primaryNameAttribute: "name",
  isCustom: false,
  changeTracking: true,
});

function setup() {
  let now = 0;
  const calls: string[] = [];
  let version = 1;
  const store = new MemoryStore<CachedMetadata<unknown>>();
  const cache = new MetadataCache(
    store,
    {
      entities: async (c, refresh) => {
        calls.push(`entities ${c}${refresh ? " refresh" : ""}`);
        return [entity(`account_v${version}`)];
      },
      attributes: async (c, e, refresh) => {
        calls.push(`attributes ${c} ${e}${refresh ? " refresh" : ""}`);
        await new Promise((r) => setTimeout(r, 5));
        return [{ logicalName: "name", displayName: "Name", type: "String", required: "none", readable: true } satisfies AttributeInfo];
      },
    },
    { now: () => now },
  );
  return { cache, calls, store, setNow: (t: number) => (now = t), bump: () => version++ };
}

describe("metadata cache", () => {
  it("fetches once and then serves from the cache", async () => {
    const { cache, calls } = setup();
    const a = await cache.entities("c1");
    const b = await cache.entities("c1");
    expect(a.cached).toBe(false);
    expect(b.cached).toBe(true);
    expect(b.value).toEqual(a.value);
    expect(calls).toEqual(["entities c1"]);
  });

  it("keeps connections apart", async () => {
    const { cache, calls } = setup();
    await cache.entities("c1");
    await cache.entities("c2");
    expect(calls).toEqual(["entities c1", "entities c2"]);
  });

  it("refresh goes to the edge with refresh and replaces the entry", async () => {
    const { cache, calls, bump, setNow } = setup();
    await cache.entities("c1");
    bump();
    setNow(50);
    const r = await cache.entities("c1", { refresh: true });
    expect(r.value[0]?.logicalName).toBe("account_v2");
    expect(r.fetchedAt).toBe(50);
    expect((await cache.entities("c1")).value[0]?.logicalName).toBe("account_v2");
    expect(calls).toEqual(["entities c1", "entities c1 refresh"]);
  });

  it("serves a stale entry at once and refetches it in the background", async () => {
    const { cache, calls, bump, setNow } = setup();
    await cache.entities("c1");
    bump();
    setNow(DAY_MS + 1);
    const r = await cache.entities("c1");
    expect(r.cached).toBe(true);
    expect(r.value[0]?.logicalName).toBe("account_v1");
    expect((await r.revalidated)?.value[0]?.logicalName).toBe("account_v2");
    expect(calls).toEqual(["entities c1", "entities c1"]);
  });

  it("coalesces concurrent loads of the same attributes", async () => {
    const { cache, calls } = setup();
    await Promise.all([cache.attributes("c1", "account"), cache.attributes("c1", "account"), cache.attributes("c1", "contact")]);
    expect(calls.sort()).toEqual(["attributes c1 account", "attributes c1 contact"]);
  });

  it("clears one connection's entries", async () => {
    const { cache, store } = setup();
    await cache.entities("c1");
    await cache.attributes("c1", "account");
    await cache.entities("c2");
    await cache.clear("c1");
    expect(await store.keys()).toEqual(["c2/entities"]);
  });

  it("does not cache a failed fetch", async () => {
    const store = new MemoryStore<CachedMetadata<unknown>>();
    let fail = true;
    const cache = new MetadataCache(store, {
      entities: async () => {
        if (fail) throw new Error("dynamics_unreachable");
        return [entity("account")];
      },
      attributes: async () => [],
    });
    await expect(cache.entities("c1")).rejects.toThrow("dynamics_unreachable");
    fail = false;
    expect((await cache.entities("c1")).cached).toBe(false);
  });
});
