// Owned by the sync engine. Placeholder so the app compiles while it is being built.
import { Hono } from "hono";
import type { AppEnv } from "../http/app-env";

export const runRoutes = new Hono<AppEnv>();
