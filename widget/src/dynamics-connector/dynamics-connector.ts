import { define } from "../util/define";
import { DynamicsConnector } from "./dynamics-connector.component";

export { DynamicsConnector };
export type { DcEventDetails, RequestDeleteDetail } from "../events";
export { EdgeClient, EdgeError } from "../api/edge-client";

define("dynamics-connector", DynamicsConnector);

declare global {
  interface HTMLElementTagNameMap {
    "dynamics-connector": DynamicsConnector;
  }
}
