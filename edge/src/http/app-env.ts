import type { Env } from "../env";

/** What the host token proved about the caller; every store call is scoped by `tenant`. */
export interface Caller {
  tenant: string;
  sub: string;
  role: "admin" | "viewer";
  email?: string;
}

/** Hono generics for every route module. */
export interface AppEnv {
  Bindings: Env;
  Variables: { caller: Caller; requestId: string };
}
