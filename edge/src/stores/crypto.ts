/**
 * AES-256-GCM for anything credential-like at rest. `ENCRYPTION_KEY` is base64 of 32 bytes, or for rotation a
 * comma-separated list `kid:base64,oldkid:base64` (the first encrypts, all decrypt). Ciphertext format:
 * `v1.<kid>.<iv b64url>.<ciphertext+tag b64url>`; the IV is 12 random bytes per message; the kid and the caller's
 * `context` (e.g. tenant + record key) are authenticated as additional data, so a value can't be moved between records.
 * The encryption key only seals: any other use gets a key derived for its purpose (`derivedHmacKey`, HKDF).
 */
const enc = new TextEncoder();
const dec = new TextDecoder();

function b64decode(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
}
function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

interface KeyEntry {
  kid: string;
  key: CryptoKey;
}
const keyCache = new Map<string, Promise<KeyEntry[]>>();

async function keyIdOf(raw: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  return b64url(d.slice(0, 6));
}

/** The keys of the setting, current (encrypting) key first, as `{ kid?, raw }`. */
function rawKeys(setting: string): Array<{ kid: string | null; raw: Uint8Array }> {
  const parts = setting
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (!parts.length) throw new Error("ENCRYPTION_KEY is not set");
  return parts.map((part) => {
    const m = /^([A-Za-z0-9_-]{1,32}):(.+)$/.exec(part);
    const raw = b64decode(m ? m[2]! : part);
    if (raw.length !== 32) throw new Error("ENCRYPTION_KEY must be 32 bytes (base64)");
    return { kid: m ? m[1]! : null, raw };
  });
}

function loadKeys(setting: string): Promise<KeyEntry[]> {
  let p = keyCache.get(setting);
  if (!p) {
    p = (async () => {
      return Promise.all(
        rawKeys(setting).map(async ({ kid: given, raw }) => {
          const kid = given ?? (await keyIdOf(raw));
          const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
          return { kid, key };
        }),
      );
    })();
    keyCache.set(setting, p);
  }
  return p;
}

export async function encryptSecret(setting: string, plaintext: string, context: string): Promise<string> {
  const [current] = await loadKeys(setting);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const aad = enc.encode(`v1|${current!.kid}|${context}`);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad }, current!.key, enc.encode(plaintext)));
  return `v1.${current!.kid}.${b64url(iv)}.${b64url(ct)}`;
}

export async function decryptSecret(setting: string, sealed: string, context: string): Promise<string> {
  const m = /^v1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(sealed);
  if (!m) throw new Error("not a sealed value");
  const keys = await loadKeys(setting);
  const entry = keys.find((k) => k.kid === m[1]);
  if (!entry) throw new Error(`no key with id ${m[1]} (was ENCRYPTION_KEY rotated without keeping the old key?)`);
  const aad = enc.encode(`v1|${entry.kid}|${context}`);
  const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: b64decode(m[2]!), additionalData: aad }, entry.key, b64decode(m[3]!));
  return dec.decode(pt);
}

/**
 * Purposes a key is derived for. The encryption key itself only ever seals (AES-GCM above); every other use gets its own
 * key, HKDF-SHA256 of the current ENCRYPTION_KEY with the purpose as `info`, so no two uses share key material and a
 * value produced for one purpose (a webhook signature) reveals nothing usable for another.
 */
export type KeyPurpose = "webhook-signing/v1";

const HKDF_SALT = enc.encode("dynamics-connector/key-derivation");
const derivedCache = new Map<string, Promise<CryptoKey>>();

/**
 * An HMAC-SHA256 key for `purpose`, derived from the current (first) key of the ENCRYPTION_KEY setting: rotating the
 * encryption key rotates every derived key with it. Non-extractable; cached per isolate.
 */
export function derivedHmacKey(setting: string, purpose: KeyPurpose): Promise<CryptoKey> {
  const cacheKey = `${purpose}\u0000${setting}`;
  let p = derivedCache.get(cacheKey);
  if (!p) {
    p = (async () => {
      const [current] = rawKeys(setting);
      const ikm = await crypto.subtle.importKey("raw", current!.raw, "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: HKDF_SALT, info: enc.encode(purpose) },
        ikm,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      );
    })();
    derivedCache.set(cacheKey, p);
    p.catch(() => derivedCache.delete(cacheKey));
  }
  return p;
}
