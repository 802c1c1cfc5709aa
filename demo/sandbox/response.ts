/**
 * The Web API's response value and Dataverse's JSON bodies: `application/json; odata.metadata=minimal` payloads and
 * the `{"error":{"code","message"}}` error shape. Shared by the request handlers (dataverse.ts, metadata.ts, …) and
 * the HTTP face (orgserver.ts), so none of them has to import another handler for it.
 */
export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Entity rows in the body (collections and deltas), for the per-row latency setting. */
  rows?: number;
}

export const JSON_CT = "application/json; odata.metadata=minimal";

export function errorResponse(status: number, code: string, message: string, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { "Content-Type": JSON_CT, "OData-Version": "4.0", ...headers }, body: JSON.stringify({ error: { code, message } }) };
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { "Content-Type": JSON_CT, "OData-Version": "4.0", ...headers }, body: JSON.stringify(body) };
}
