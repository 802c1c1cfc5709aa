/** Self-signed TLS certificate for localhost/127.0.0.1, generated once into certDir and reused across starts. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { generate } from "selfsigned";

export interface Cert {
  cert: string;
  key: string;
}

export async function ensureCert(dir: string): Promise<Cert> {
  const certPath = join(dir, "localhost-cert.pem");
  const keyPath = join(dir, "localhost-key.pem");
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, "utf8");
    const key = readFileSync(keyPath, "utf8");
    try {
      const x = new X509Certificate(cert);
      if (new Date(x.validTo).getTime() > Date.now() + 24 * 3600_000 && x.checkHost("localhost") && x.checkIP("127.0.0.1")) return { cert, key };
    } catch {
      /* regenerate below */
    }
  }
  const now = Date.now();
  const pems = await generate(
    [
      { name: "commonName", value: "localhost" },
      { name: "organizationName", value: "Dynamics connector sandbox" },
    ],
    {
      keySize: 2048,
      algorithm: "sha256",
      notBeforeDate: new Date(now - 24 * 3600_000),
      notAfterDate: new Date(now + 825 * 24 * 3600_000),
      extensions: [
        { name: "basicConstraints", cA: false },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true },
        {
          name: "subjectAltName",
          altNames: [
            { type: 2, value: "localhost" },
            { type: 7, ip: "127.0.0.1" },
            { type: 7, ip: "::1" },
          ],
        },
      ],
    },
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(certPath, pems.cert);
  writeFileSync(keyPath, pems.private, { mode: 0o600 });
  return { cert: pems.cert, key: pems.private };
}
