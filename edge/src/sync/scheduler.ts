// Owned by the sync engine. Placeholder so the Worker entry compiles while it is being built.
import type { Env } from "../env";

export async function scheduled(_controller: ScheduledController, _env: Env, _ctx: ExecutionContext): Promise<void> {}
