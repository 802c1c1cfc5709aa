/**
 * `<dc-job-editor>`: the job editor, loaded lazily by the root (`import("./editor/job-editor")`). Everything heavy
 * it needs (virtualizer, croner, cronstrue, idb) — and its sections and dialogs (./sections, ./dialogs) — is imported
 * from this module graph, never from the root's.
 *
 * Properties: `client` (EdgeClient), `connection` (Connection), `job` (Job | null — null creates a new job),
 * `jobs` (Job[] — for the "runs after" picker), `getDynamicsToken` (() => Promise<string>).
 * Events (bubbling, composed): `dc-job-saved` `{ job }`, `dc-editor-close`.
 */
import { define } from "../util/define";
import { DcJobEditor } from "./job-editor.component";

export { DcJobEditor };
export { filterEntities, buildEntityIndex } from "./entity-filter";

define("dc-job-editor", DcJobEditor);

declare global {
  interface HTMLElementTagNameMap {
    "dc-job-editor": DcJobEditor;
  }
}
