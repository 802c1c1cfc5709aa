/**
 * The edge isolate's JS heap through wrangler's inspector proxy (`--inspector-port`): CDP `Runtime.getHeapUsage`.
 * Best effort: `ws` is a transitive dependency (of wrangler/miniflare); if it or the inspector is unavailable, null.
 */
export interface HeapUsage {
  usedMB: number;
  totalMB: number;
}

type WsLike = { on(ev: string, cb: (...a: unknown[]) => void): void; send(s: string): void; close(): void };
let wsCtor: (new (url: string) => WsLike) | null | undefined;
const sockets = new Map<number, Promise<WsLike>>();

async function socketFor(port: number): Promise<WsLike> {
  let p = sockets.get(port);
  if (!p) {
    p = (async () => {
      if (wsCtor === undefined) {
        try {
          const wsModule = "ws"; // a name in a variable: typed locally, whether or not @types/ws happens to be installed
          wsCtor = ((await import(wsModule)) as { default: new (url: string) => WsLike }).default;
        } catch {
          wsCtor = null;
        }
      }
      if (!wsCtor) throw new Error("ws not available");
      const list = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as Array<{ webSocketDebuggerUrl?: string; title?: string }>;
      const target = list.find((t) => t.webSocketDebuggerUrl && !/proxy/i.test(t.title ?? "")) ?? list.find((t) => t.webSocketDebuggerUrl);
      if (!target?.webSocketDebuggerUrl) throw new Error("no inspector target");
      const ws = new wsCtor(target.webSocketDebuggerUrl);
      await new Promise<void>((ok, fail) => {
        ws.on("open", () => ok());
        ws.on("error", (e) => fail(e as Error));
      });
      ws.on("close", () => sockets.delete(port));
      ws.on("message", (data) => {
        try {
          const msg = JSON.parse(String(data)) as { id?: number; result?: { usedSize: number; totalSize: number } };
          const cb = msg.id !== undefined ? waiting.get(msg.id) : undefined;
          if (cb && msg.result) {
            waiting.delete(msg.id!);
            cb({ usedMB: msg.result.usedSize / 1048576, totalMB: msg.result.totalSize / 1048576 });
          }
        } catch {
          /* events */
        }
      });
      return ws;
    })();
    sockets.set(port, p);
    p.catch(() => sockets.delete(port));
  }
  return p;
}

let nextId = 1;
const waiting = new Map<number, (h: HeapUsage) => void>();
export async function isolateHeap(port: number, timeoutMs = 3000): Promise<HeapUsage | null> {
  const ws = await socketFor(port);
  const id = nextId++;
  return new Promise<HeapUsage | null>((ok) => {
    const t = setTimeout(() => {
      waiting.delete(id);
      ok(null);
    }, timeoutMs);
    waiting.set(id, (h) => {
      clearTimeout(t);
      ok(h);
    });
    ws.send(JSON.stringify({ id, method: "Runtime.getHeapUsage" }));
  });
}

export function closeInspectors(): void {
  for (const p of sockets.values()) void p.then((w) => w.close()).catch(() => {});
  sockets.clear();
}
