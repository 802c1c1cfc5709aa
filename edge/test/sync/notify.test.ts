import { describe, expect, it } from "vitest";
import { signWebhook } from "../../src/sync/notify";

describe("webhook signature", () => {
  it("is HMAC-SHA256 over timestamp.body in hex (matches an independent computation)", async () => {
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("whsec_test"), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode('1700000000.{"a":1}')));
    const hex = [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(await signWebhook("whsec_test", 1700000000, '{"a":1}')).toBe(`v1=${hex}`);
  });
});
