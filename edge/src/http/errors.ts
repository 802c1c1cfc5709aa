import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ZodError, type z } from "zod";
import { ERROR_CODES, type ErrorCode, type ErrorDetail, type ErrorEnvelope } from "#contract/errors";
import { DataverseError } from "../dataverse/errors";
import type { AppEnv } from "./app-env";

/** The one error type routes throw; `onError` turns it into the envelope with the code's status. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
  get status(): number {
    return ERROR_CODES[this.code];
  }
}

export const notFound = (what = "Not found"): ApiError => new ApiError("not_found", what);

/** Zod issues → `[{ path: "mappings.2.source", message }]` (paths joined with dots, as the widget expects). */
export function zodDetails(error: z.core.$ZodError | ZodError, prefix: (string | number)[] = []): ErrorDetail[] {
  return error.issues.map((issue) => {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))];
    // strictObject reports unknown keys on the parent; name the key itself so the widget can point at it.
    if (issue.code === "unrecognized_keys") {
      return { path: [...path, issue.keys[0]].join("."), message: `unknown field(s): ${issue.keys.join(", ")}` };
    }
    return { path: path.join(".") || "(body)", message: issue.message };
  });
}

export function validationFailed(details: ErrorDetail[], message = "The request is not valid"): ApiError {
  return new ApiError("validation_failed", message, details);
}

export function envelope(
  c: Context<AppEnv>,
  code: ErrorCode,
  message: string,
  details?: ErrorDetail[],
  status?: number,
  headers?: Record<string, string>,
): Response {
  const body: ErrorEnvelope = { error: { code, message, ...(details?.length ? { details } : {}), requestId: c.get("requestId") } };
  return c.json(body, (status ?? ERROR_CODES[code]) as 400, headers);
}

/** `app.onError`: every failure leaves as one envelope; unknown errors never leak their message (it may hold a token). */
export function onError(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof ApiError) return envelope(c, err.code, err.message, err.details, err.status, err.headers);
  if (err instanceof ZodError) return envelope(c, "validation_failed", "The request is not valid", zodDetails(err));
  if (err instanceof HTTPException) {
    const status = err.status;
    if (status === 413) return envelope(c, "payload_too_large", "The request body is too large");
    if (status === 401) return envelope(c, "unauthorized", err.message || "Unauthorized");
    if (status === 404) return envelope(c, "not_found", "Not found");
    if (status === 405) return envelope(c, "method_not_allowed", "Method not allowed");
    return envelope(c, status >= 500 ? "internal" : "validation_failed", err.message || "Request failed", undefined, status);
  }
  console.error(JSON.stringify({ level: "error", requestId: c.get("requestId"), name: err.name, stack: err.stack?.split("\n").slice(0, 5).join(" | ") }));
  return envelope(c, "internal", "Internal error");
}

/** Runs `fn`; a Dataverse failure becomes the API error of `fromDataverseError` (anything else passes unchanged). */
export async function withDataverseErrors<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof DataverseError) throw fromDataverseError(e, what);
    throw e;
  }
}

/** A Dataverse failure on an interactive route → the envelope (Dataverse's own code is kept in the message). */
function fromDataverseError(e: { status: number; code: string; message: string; retryAfterSeconds?: number }, what: string): ApiError {
  const msg = `${what}: Dynamics answered ${e.status || "nothing"} ${e.code}: ${e.message}`.slice(0, 1000);
  if (e.status === 0) return new ApiError("dynamics_unreachable", msg);
  if (e.status === 401) return new ApiError("dynamics_token_invalid", msg);
  if (e.status === 404) return new ApiError("not_found", msg);
  if (e.status === 429)
    return new ApiError("rate_limited", msg, undefined, e.retryAfterSeconds !== undefined ? { "Retry-After": String(e.retryAfterSeconds) } : undefined);
  return new ApiError("dynamics_error", msg);
}
