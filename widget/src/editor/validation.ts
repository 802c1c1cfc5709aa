/** The editor's own checks before a round-trip, and the names its error summary gives form keys. Pure. */
import { msg, str } from "@lit/localize";
import type { EditorDraft } from "./job-model";
import { entityLabel } from "./metadata-views";
import { cronError } from "./schedule";
import type { EntityInfo, JobInput, TargetObject } from "./types";

type Problem = { path: string; message: string };

/** Checks the edge would make too, done here so the admin hears about them before a round-trip. */
export function localErrors(input: JobInput, draft: EditorDraft, entities: readonly EntityInfo[] | null): Problem[] {
  const out: Problem[] = [];
  if (!input.name) out.push({ path: "name", message: msg("Give the job a name.") });
  if (!input.source.entity) out.push({ path: "source.entity", message: msg("Choose the Dynamics table to read.") });
  if (!input.target.object) out.push({ path: "target.object", message: msg("Choose the object to fill.") });
  if (input.source.entity && input.target.object && !input.mappings.length) out.push({ path: "mappings", message: msg("Map at least one field.") });
  draft.mappings.forEach((m) => {
    if (m.via && !m.via.attribute) {
      out.push({
        path: `mappings.${input.mappings.findIndex((x) => x.target === m.target)}.via.attribute`,
        message: msg(str`Choose the column of ${entityLabel(entities, m.via.entity)} to use.`),
      });
    }
  });
  if (draft.schedule.kind === "custom") {
    const problem = cronError(draft.schedule.cron);
    if (problem) out.push({ path: "schedule.cron", message: problem });
  }
  return out.filter((e) => !e.path.startsWith("mappings.-1"));
}

const names = (): Record<string, string> => ({
  name: msg("Name"),
  "source.entity": msg("Source table"),
  "target.object": msg("Target object"),
  mappings: msg("Field mappings"),
  "source.filter": msg("Filter"),
  "schedule.cron": msg("Schedule"),
  "schedule.timezone": msg("Time zone"),
  dependsOn: msg("Runs after"),
  "notify.onSuccess": msg("E-mails on success"),
  "notify.onPartial": msg("E-mails on partial success"),
  "notify.onFailure": msg("E-mails on failure"),
  "notify.webhook": msg("Webhook URL"),
  identifiers: msg("Identifiers"),
  mode: msg("Mode"),
  deletes: msg("Deletes"),
  connectionId: msg("Connection"),
});

/** Human name of a form key for the error summary. */
export function keyLabel(k: string, object: TargetObject | undefined): string {
  if (k.startsWith("mapping:")) {
    const t = k.slice(8);
    return msg(str`Mapping of ${object?.fields.find((f) => f.name === t)?.label ?? t}`);
  }
  const name = names()[k];
  if (name) return name;
  let m: RegExpExecArray | null;
  if ((m = /^identifiers\.(\d+)\.(source|target)$/.exec(k)))
    return m[2] === "source" ? msg(str`Identifier ${Number(m[1]) + 1} (column)`) : msg(str`Identifier ${Number(m[1]) + 1} (field)`);
  if ((m = /^lookups\.(\d+)\.match\.(\d+)\.(source|field)$/.exec(k))) return msg(str`Lookup ${Number(m[1]) + 1}, match ${Number(m[2]) + 1}`);
  if ((m = /^lookups\.(\d+)\.(\w+)$/.exec(k))) return msg(str`Lookup ${Number(m[1]) + 1} (${m[2]})`);
  return k;
}
