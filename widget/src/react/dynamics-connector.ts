/**
 * `dynamics-connector/react`: `<dynamics-connector>` as a React component (@lit/react). Props are the element's
 * properties (`apiBase`, `clientId`, `getHostToken`, `locale`, …: set as properties, so functions and objects pass
 * through), and each public `dc-*` event is an `on…` prop typed with its `detail`.
 *
 *   <DynamicsConnector apiBase="https://edge.example.com" getHostToken={getToken} onRunFinished={(e) => e.detail.run} />
 */
import { createComponent, type EventName } from "@lit/react";
import * as React from "react";
// By package name, not by path: the built wrapper imports the built element (one definition, the widget's lazy
// chunks), and its types refer to the package's own (tsconfig "paths" maps the name to the source for the typecheck).
import { DynamicsConnector as DynamicsConnectorElement, type DynamicsConnectorEventMap as Events } from "dynamics-connector";

export const DynamicsConnector = createComponent({
  react: React,
  tagName: "dynamics-connector",
  elementClass: DynamicsConnectorElement,
  displayName: "DynamicsConnector",
  events: {
    onConnectionCreated: "dc-connection-created" as EventName<Events["dc-connection-created"]>,
    onConnectionAuthorized: "dc-connection-authorized" as EventName<Events["dc-connection-authorized"]>,
    onJobSaved: "dc-job-saved" as EventName<Events["dc-job-saved"]>,
    onRunStarted: "dc-run-started" as EventName<Events["dc-run-started"]>,
    onRunFinished: "dc-run-finished" as EventName<Events["dc-run-finished"]>,
    onError: "dc-error" as EventName<Events["dc-error"]>,
    onRequestDelete: "dc-request-delete" as EventName<Events["dc-request-delete"]>,
  },
});

/** The wrapper's props (element properties, `on…` event handlers, React's own). */
export type DynamicsConnectorProps = React.ComponentProps<typeof DynamicsConnector>;
