import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { decryptSecret, encryptSecret } from "../src/stores/crypto";

describe("AES-GCM at rest", () => {
  it("round-trips a secret", async () => {
    const sealed = await encryptSecret(env.ENCRYPTION_KEY, "s3cret", "t/a/job/1");
    expect(await decryptSecret(env.ENCRYPTION_KEY, sealed, "t/a/job/1")).toBe("s3cret");
  });

  it("uses a random IV (two encryptions differ) and carries a key id", async () => {
    const a = await encryptSecret(env.ENCRYPTION_KEY, "same", "ctx");
    const b = await encryptSecret(env.ENCRYPTION_KEY, "same", "ctx");
    expect(a).not.toBe(b);
    expect(a.split(".")[1]).toBe(b.split(".")[1]);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{16}\./);
  });

  it("refuses a value moved to another record (context is authenticated)", async () => {
    const sealed = await encryptSecret(env.ENCRYPTION_KEY, "s3cret", "t/a/job/1");
    await expect(decryptSecret(env.ENCRYPTION_KEY, sealed, "t/b/job/1")).rejects.toThrow();
  });

  it("decrypts with an old key after rotation", async () => {
    const old = `old:${env.ENCRYPTION_KEY}`;
    const sealed = await encryptSecret(old, "s3cret", "ctx");
    const rotated = `new:${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))},${old}`;
    expect(await decryptSecret(rotated, sealed, "ctx")).toBe("s3cret");
    expect((await encryptSecret(rotated, "x", "ctx")).split(".")[1]).toBe("new");
  });
});
