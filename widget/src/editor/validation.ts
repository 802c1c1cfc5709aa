/** The editor's own checks before a round-trip, and the names its error summary gives form keys. Pure. */
import type { EditorDraft } from "./job-model";
import { entityLabel } from "./metadata-views";
import { cronError } from "./schedule";
import type { EntityInfo, JobInput, TargetObject } from "./types";

type Problem = { path: string; message: string };

/** Checks the edge would make too, done here so the admin hears about them before a round-trip. */
export function localErrors(input: JobInput, draft: EditorDraft, entities: readonly EntityInfo[] | null): Problem[] {
  const out: Problem[] = [];
  if (!input.name) out.push({ path: "name", message: "Give the job a name." });
  if (!input.source.entity) out.push({ path: "source.entity", message: "Choose the Dynamics table to read." });
  if (!input.target.object) out.push({ path: "target.object", message: "Choose the object to fill." });
  if (input.source.entity && input.target.object && !input.mappings.length) out.push({ path: "mappings", message: "Map at least one field." });
  draft.mappings.forEach((m) => {
    if (m.via && !m.via.attribute) {
      out.push({
        path: `mappings.${input.mappings.findIndex((x) => x.target === m.target)}.via.attribute`,
        message: `Choose the column of ${entityLabel(entities, m.via.entity)} to use.`,
      });
    }
  });
  if (draft.schedule.kind === "custom") {
    const problem = cronError(draft.schedule.cron);
    if (problem) out.push({ path: "schedule.cron", message: problem });
  }
  return out.filter((e) => !e.path.startsWith("mappings.-1"));
}

const NAMES: Record<string, string> = {
  name: "Name",
  "source.entity": "Source table",
  "target.object": "Target object",
  mappings: "Field mappings",
  "source.filter": "Filter",
  "schedule.cron": "Schedule",
  "schedule.timezone": "Time zone",
  dependsOn: "Runs after",
  "notify.onSuccess": "E-mails on success",
  "notify.onPartial": "E-mails on partial success",
  "notify.onFailure": "E-mails on failure",
  "notify.webhook": "Webhook URL",
  identifiers: "Identifiers",
  mode: "Mode",
  deletes: "Deletes",
  connectionId: "Connection",
};

/** Human name of a form key for the error summary. */
export function keyLabel(k: string, object: TargetObject | undefined): string {
  if (k.startsWith("mapping:")) {
    const t = k.slice(8);
    return `Mapping of ${object?.fields.find((f) => f.name === t)?.label ?? t}`;
  }
  if (NAMES[k]) return NAMES[k]!;
  let m: RegExpExecArray | null;
  if ((m = /^identifiers\.(\d+)\.(source|target)$/.exec(k))) return `Identifier ${Number(m[1]) + 1} (${m[2] === "source" ? "column" : "field"})`;
  if ((m = /^lookups\.(\d+)\.match\.(\d+)\.(source|field)$/.exec(k))) return `Lookup ${Number(m[1]) + 1}, match ${Number(m[2]) + 1}`;
  if ((m = /^lookups\.(\d+)\.(\w+)$/.exec(k))) return `Lookup ${Number(m[1]) + 1} (${m[2]})`;
  return k;
}
