import { app } from "./app";
import type { Env } from "./env";
import { queue } from "./queues/consumer";
import type { WorkMessage } from "./queues/messages";
import { scheduled } from "./sync/scheduler";

export { JobRunner } from "./sync/job-runner";
export { OrgPermits } from "./sync/org-permits";

export default { fetch: app.fetch, scheduled, queue } satisfies ExportedHandler<Env, WorkMessage>;
