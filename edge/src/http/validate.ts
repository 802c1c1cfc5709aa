import type { Context } from "hono";
import type { z } from "zod";
import type { AppEnv } from "./app-env";
import { ApiError, validationFailed, zodDetails } from "./errors";

/** Reads the JSON body (content-type enforced, malformed JSON → `invalid_json`) and parses it with `schema`. */
export async function readJson<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.output<S>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) throw new ApiError("invalid_json", "Send the body as application/json");
  let raw: unknown;
  try {
    raw = JSON.parse(await c.req.text());
  } catch {
    throw new ApiError("invalid_json", "The body is not valid JSON");
  }
  return parseWith(schema, raw);
}

export function parseWith<S extends z.ZodType>(schema: S, raw: unknown, prefix: (string | number)[] = []): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw validationFailed(zodDetails(result.error, prefix));
  return result.data;
}
