import type { Env } from "../env";
import { dbFor } from "./shards";
import type { Caller } from "../http/app-env";
import { redactedWebhook } from "../security/webhook-url";

/** One changed leaf: `path` in the resource (`mappings.2.target`), value before and after (undefined = absent). */
interface Change {
  path: string;
  before?: unknown;
  after?: unknown;
}

interface ActivityEntry {
  id: number;
  at: string;
  actor: { sub: string; email?: string };
  action: string; // e.g. "connection.create", "job.update"
  resource: { type: string; id: string };
  changes: Change[];
}

const SECRET_KEYS = /token|secret|password/i;
const WEBHOOK_KEY = /webhook/i;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/**
 * A value as the audit log may hold it, at any depth (a created job is one value at the root): anything under a key
 * that looks like a secret is "[redacted]", a webhook URL keeps only its origin (`https://hooks.slack.com/…`: the path
 * of a webhook is often the receiver's own secret). The same for every reader, admins included.
 */
function redact(value: unknown, path: string): unknown {
  if (value === undefined) return undefined;
  if (SECRET_KEYS.test(path)) return "[redacted]";
  if (typeof value === "string" && WEBHOOK_KEY.test(path.slice(path.lastIndexOf(".") + 1))) return redactedWebhook(value);
  if (Array.isArray(value)) return value.map((v, i) => redact(v, path ? `${path}.${i}` : String(i)));
  if (isObj(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, path ? `${path}.${k}` : k)]));
  return value;
}

/** Structural diff of two JSON values (objects by key, arrays by index); secrets and webhook URLs are redacted. */
function diff(before: unknown, after: unknown, path = "", out: Change[] = []): Change[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return out;
  if (isObj(before) && isObj(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const k of keys) diff(before[k], after[k], path ? `${path}.${k}` : k, out);
    return out;
  }
  out.push({
    path: path || "(root)",
    ...(before !== undefined ? { before: redact(before, path) } : {}),
    ...(after !== undefined ? { after: redact(after, path) } : {}),
  });
  return out;
}

/** Entries written before a redaction rule existed are redacted when read, too. */
const redactChange = (c: Change): Change => ({
  path: c.path,
  ...(c.before !== undefined ? { before: redact(c.before, c.path === "(root)" ? "" : c.path) } : {}),
  ...(c.after !== undefined ? { after: redact(c.after, c.path === "(root)" ? "" : c.path) } : {}),
});

const IGNORED = new Set(["updatedAt", "createdAt"]);

export async function audit(
  env: Env,
  caller: Pick<Caller, "tenant" | "sub" | "email">,
  action: string,
  resource: { type: string; id: string },
  before: unknown,
  after: unknown,
): Promise<void> {
  const db = await dbFor(env, caller.tenant);
  const changes = diff(before ?? undefined, after ?? undefined).filter((c) => !IGNORED.has(c.path));
  await db
    .prepare("INSERT INTO audit_log (tenant, at, actor_sub, actor_email, action, resource_type, resource_id, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    .bind(caller.tenant, new Date().toISOString(), caller.sub, caller.email ?? null, action, resource.type, resource.id, JSON.stringify(changes))
    .run();
}

export async function listActivity(
  env: Env,
  tenant: string,
  opts: { limit: number; before?: number; resourceType?: string; resourceId?: string },
): Promise<{ items: ActivityEntry[]; nextCursor: string | null }> {
  const db = await dbFor(env, tenant);
  const where = ["tenant = ?"];
  const args: unknown[] = [tenant];
  if (opts.before !== undefined) {
    where.push("id < ?");
    args.push(opts.before);
  }
  if (opts.resourceType) {
    where.push("resource_type = ?");
    args.push(opts.resourceType);
  }
  if (opts.resourceId) {
    where.push("resource_id = ?");
    args.push(opts.resourceId);
  }
  const { results } = await db
    .prepare(
      `SELECT id, at, actor_sub, actor_email, action, resource_type, resource_id, changes FROM audit_log WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT ?`,
    )
    .bind(...args, opts.limit + 1)
    .all<{
      id: number;
      at: string;
      actor_sub: string;
      actor_email: string | null;
      action: string;
      resource_type: string;
      resource_id: string;
      changes: string;
    }>();
  const items = results.slice(0, opts.limit).map((r) => ({
    id: r.id,
    at: r.at,
    actor: { sub: r.actor_sub, ...(r.actor_email ? { email: r.actor_email } : {}) },
    action: r.action,
    resource: { type: r.resource_type, id: r.resource_id },
    changes: (JSON.parse(r.changes) as Change[]).map(redactChange),
  }));
  const last = items[items.length - 1];
  return { items, nextCursor: results.length > opts.limit && last ? String(last.id) : null };
}
