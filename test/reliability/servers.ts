/** Tiny misbehaving "orgs" for the SSRF tests: a canary that counts every request it gets, and a redirector. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface TestServer {
  url: string;
  host: string;
  hits: Array<{ method: string; url: string }>;
  close(): Promise<void>;
}

async function start(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const hits: TestServer["hits"] = [];
  const server: Server = createServer((req, res) => {
    hits.push({ method: req.method ?? "", url: req.url ?? "" });
    handler(req, res);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

/** Answers every request 200 `{}` and records it: any hit from a refused request is a leak. */
export const startCanary = () =>
  start((_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end('{"UserId":"canary","BusinessUnitId":"canary","OrganizationId":"canary","value":[]}');
  });

/**
 * An org that misbehaves: `/api/data/v9.2/huge` declares a 20 MB body, `/api/data/v9.2/stream` streams 20 MB without
 * a length, everything else is a 302 (or 307) to `target` — which must never be followed.
 */
export const startRedirector = (target: string) =>
  start((req, res) => {
    const path = req.url ?? "";
    if (path.startsWith("/api/data/v9.2/huge")) {
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": String(20 * 1024 * 1024) });
      res.end("{}"); // the declared length is what the edge must refuse on
      return;
    }
    if (path.startsWith("/api/data/v9.2/stream")) {
      res.writeHead(200, { "Content-Type": "application/json" });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < 20) {
          sent++;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      res.on("error", () => {});
      pump();
      return;
    }
    res.writeHead(path.includes("307") ? 307 : 302, { Location: `${target}/stolen${path}` });
    res.end();
  });
