import { app } from "./app";
import type { Env } from "./env";
import { scheduled } from "./sync/scheduler";

export { JobRunner } from "./sync/job-runner";

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
