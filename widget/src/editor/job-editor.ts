/**
 * `<dc-job-editor>`: the job editor, loaded lazily by the root (`import("./editor/job-editor")`). Everything heavy
 * it needs (virtualizer, croner, cronstrue, idb) is imported from this module graph, never from the root's.
 *
 * Properties: `client` (EdgeClient), `connection` (Connection), `job` (Job | null — null creates a new job),
 * `jobs` (Job[] — for the "runs after" picker), `getDynamicsToken` (() => Promise<string>).
 * Events (bubbling, composed): `dc-job-saved` `{ job }`, `dc-editor-close`.
 */
import { DcJobEditor } from "./job-editor.component";

export { DcJobEditor };
export { filterEntities, buildEntityIndex } from "./entity-filter";

if (!customElements.get("dc-job-editor")) customElements.define("dc-job-editor", DcJobEditor);

declare global {
  interface HTMLElementTagNameMap {
    "dc-job-editor": DcJobEditor;
  }
}
