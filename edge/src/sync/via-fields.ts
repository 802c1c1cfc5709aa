/**
 * The looked-up fields of through-lookup mappings (`via`), read from their own table per page instead of `$expand`
 * (which change tracking forbids): the page's distinct lookup ids go to the looked-up table in chunks,
 * `$filter=Microsoft.Dynamics.CRM.In(PropertyName='accountid',PropertyValues=['…',…])`, and each row gets the record
 * under the navigation property's name — the shape `$expand` gives, so the mapper reads both alike. A lookup that
 * points at another table (a Customer lookup to a contact) or at a record that is gone gets null, as `$expand` would.
 */
import { dataverseJson, maxPageSize, ODataPage, PAGE_PREFER } from "../dataverse/client";
import type { ViaRead } from "./query";
import { withToken, type RunContext } from "./run-context";

/**
 * Ids per request: 100 GUIDs make a `$filter` of about 4,000 characters, so the URL stays far below the lengths
 * servers and proxies accept, and a chunk's answer is one page.
 */
export const VIA_CHUNK = 100;

const LOOKUP_LOGICAL_NAME = "@Microsoft.Dynamics.CRM.lookuplogicalname";
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Puts each via's looked-up record (or null) into the rows, in place. */
export async function attachViaFields(ctx: RunContext, via: ViaRead[], rows: Array<Record<string, unknown>>): Promise<void> {
  for (const v of via) {
    const ids = new Set<string>();
    for (const row of rows) {
      const id = row[v.lookupKey];
      const table = row[`${v.lookupKey}${LOOKUP_LOGICAL_NAME}`];
      if (typeof id === "string" && GUID.test(id) && (table === undefined || table === v.entity)) ids.add(id.toLowerCase());
    }
    const found = await readRecords(ctx, v, [...ids]);
    for (const row of rows) {
      const id = row[v.lookupKey];
      row[v.nav] = (typeof id === "string" && found.get(id.toLowerCase())) || null;
    }
  }
}

/** Chunks requested at once: a 5,000-row page's few thousand ids take a handful of round trips, not dozens. */
const VIA_PARALLEL = 4;

async function readRecords(ctx: RunContext, v: ViaRead, ids: string[]): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  const select = [...new Set([v.primaryId, ...v.select])].join(",");
  const readChunk = async (chunk: string[]): Promise<void> => {
    const filter = `Microsoft.Dynamics.CRM.In(PropertyName='${v.primaryId}',PropertyValues=[${chunk.map((id) => `'${id}'`).join(",")}])`;
    let path: string | undefined = `${v.entitySet}?$select=${select}&$filter=${encodeURIComponent(filter)}`;
    while (path) {
      const p: string = path;
      const page = await withToken(ctx, (token) =>
        dataverseJson(ctx.conn.orgUrl, p, { token, prefer: [...PAGE_PREFER, maxPageSize()], ...ctx.observe }, ODataPage),
      );
      for (const r of page.value) if (typeof r[v.primaryId] === "string") out.set(String(r[v.primaryId]).toLowerCase(), r);
      path = page["@odata.nextLink"];
    }
  };
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += VIA_CHUNK) chunks.push(ids.slice(i, i + VIA_CHUNK));
  for (let i = 0; i < chunks.length; i += VIA_PARALLEL) await Promise.all(chunks.slice(i, i + VIA_PARALLEL).map(readChunk));
  return out;
}
