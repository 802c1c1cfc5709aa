import type { DynamicsConnectorEventMap } from "../events";
import { define } from "../util/define";
import { DynamicsConnector } from "./dynamics-connector.component";

export { DynamicsConnector };
export type { DcEventDetails, DcEventName, DynamicsConnectorEventMap, RequestDeleteDetail } from "../events";
export { EdgeClient, EdgeError } from "../api/edge-client";

define("dynamics-connector", DynamicsConnector);

// The package's public typings (widget/build-types.mjs copies this block into dist/types/dynamics-connector.d.ts):
// `document.querySelector("dynamics-connector")` is the element, `addEventListener("dc-…", e => e.detail)` is typed.
declare global {
  interface HTMLElementTagNameMap {
    "dynamics-connector": DynamicsConnector;
  }
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- merges the public events into the DOM's map
  interface GlobalEventHandlersEventMap extends DynamicsConnectorEventMap {}
}
