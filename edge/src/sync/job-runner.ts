// Owned by the sync engine. Placeholder export so the Worker entry compiles while it is being built.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

export class JobRunner extends DurableObject<Env> {}
