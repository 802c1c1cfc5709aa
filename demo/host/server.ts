/**
 * The demo host: a pretend product's admin page ("Acme Success — Settings › Integrations") that embeds
 * <dynamics-connector> with one script tag from the edge (`<edge>/widget/dynamics-connector.js`, as a real host does),
 * plus the tiny backend a real host has — it mints the short-lived host JWT (HS256, the edge's HOST_JWT_SECRET) for the
 * signed-in tenant admin — and the sign-in popup's return page on the host's own origin (/signin-redirect.html: msal
 * hands the result to the opener over a BroadcastChannel, which only reaches pages of the same origin).
 */
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT } from "jose";

const HERE = fileURLToPath(new URL(".", import.meta.url));
export const REPO_ROOT = resolve(HERE, "../..");

export interface HostServerOptions {
  port?: number;
  host?: string;
  /** The edge's origin, e.g. http://127.0.0.1:8787. */
  edgeUrl: string;
  /** Identity origin(s) the sign-in talks to (CSP connect-src). */
  identityOrigins: string[];
  /** SPA client id and authority for msal-browser. */
  clientId: string;
  authority: string;
  /** Same value as the edge's HOST_JWT_SECRET. */
  hostJwtSecret: string;
  /** The demo host tenant and its admin. */
  tenant?: string;
  user?: { id: string; email: string; name: string };
  /**
   * Tests only: let `/api/session?tenant=…` pick the host tenant, so each test gets an empty world, and
   * `&role=viewer` make its user a viewer (the widget's read-only UI).
   */
  allowTenantOverride?: boolean;
}

export interface HostServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
};

const attr = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

export async function startHostServer(opts: HostServerOptions): Promise<HostServer> {
  const publicDir = join(HERE, "public");
  const tenant = opts.tenant ?? "acme-demo";
  const user = opts.user ?? { id: "u-1001", email: "olivia.ops@acme.example", name: "Olivia Ops" };
  const secret = new TextEncoder().encode(opts.hostJwtSecret);
  const pages: Record<string, string> = {
    "/": readFileSync(join(publicDir, "index.html"), "utf8"),
    "/settings/integrations": readFileSync(join(publicDir, "index.html"), "utf8"),
    "/signin-redirect.html": readFileSync(join(publicDir, "signin-redirect.html"), "utf8"),
  };

  const csp = [
    "default-src 'self'",
    // The widget and its lazy chunks come from the edge (CORS: its dist/_headers allow any origin).
    `script-src 'self' ${opts.edgeUrl}`,
    "style-src 'self'",
    "img-src 'self' data: blob:",
    `connect-src 'self' ${opts.edgeUrl} ${opts.identityOrigins.join(" ")}`,
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
  ].join("; ");

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const url = new URL(req.url ?? "/", "http://host.invalid");
      const path = decodeURIComponent(url.pathname);
      if (path === "/api/session" && (req.method === "POST" || req.method === "GET")) {
        // A real host checks its own session cookie here; the demo has one signed-in admin (or a viewer, for tests):
        // a role never comes from the browser outside the test stack.
        const role = opts.allowTenantOverride && url.searchParams.get("role") === "viewer" ? "viewer" : "admin";
        const asked = url.searchParams.get("tenant");
        const t = opts.allowTenantOverride && asked && /^[A-Za-z0-9_-]{1,64}$/.test(asked) ? asked : tenant;
        const token = await new SignJWT({ tenant: t, role, email: user.email, name: user.name })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setSubject(user.id)
          .setIssuedAt()
          .setExpirationTime("10m")
          .sign(secret);
        res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
        res.end(JSON.stringify({ token, expiresIn: 600 }));
        return;
      }
      // The React host page (demo/react-host/, built by `npm run build` into dist/demo-react/) takes the same values.
      const reactPage = join(REPO_ROOT, "dist", "demo-react", "index.html");
      const template = path === "/react/" && existsSync(reactPage) ? readFileSync(reactPage, "utf8") : pages[path];
      if (template !== undefined) {
        const html = template
          .replaceAll("%API_BASE%", attr(opts.edgeUrl))
          .replaceAll("%WIDGET_BASE%", attr(`${opts.edgeUrl}/widget/`))
          .replaceAll("%CLIENT_ID%", attr(opts.clientId))
          .replaceAll("%AUTHORITY%", attr(opts.authority))
          .replaceAll("%USER_NAME%", attr(user.name))
          .replaceAll("%USER_EMAIL%", attr(user.email));
        res.writeHead(200, { "content-type": TYPES[".html"]!, "content-security-policy": csp, "cache-control": "no-store" });
        res.end(html);
        return;
      }
      if (path === "/favicon.ico") {
        res.writeHead(204).end();
        return;
      }
      let file: string | null = null;
      if (path.startsWith("/host/")) file = safeJoin(publicDir, path.slice("/host/".length));
      else if (path.startsWith("/react/assets/")) file = safeJoin(join(REPO_ROOT, "dist", "demo-react", "assets"), path.slice("/react/assets/".length));
      if (file && existsSync(file) && statSync(file).isFile()) {
        const headers: Record<string, string> = { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-cache" };
        if (file.endsWith(".html")) headers["content-security-policy"] = csp;
        res.writeHead(200, headers);
        createReadStream(file).pipe(res);
        return;
      }
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("Not found");
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`Error: ${(e as Error).message}`);
    }
  });

  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = (opts.host ?? "127.0.0.1") === "0.0.0.0" ? "127.0.0.1" : (opts.host ?? "127.0.0.1");
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}

function safeJoin(root: string, rel: string): string | null {
  const p = normalize(join(root, rel));
  return p.startsWith(root.endsWith(sep) ? root : root + sep) ? p : null;
}
