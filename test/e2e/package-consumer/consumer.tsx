/**
 * Compiled by test/e2e/package.spec.ts with ./tsconfig.json against the built package's types: what a host's
 * TypeScript sees. Each @ts-expect-error must be an error, and everything else must compile.
 */
import { DynamicsConnector as DynamicsConnectorReact } from "dynamics-connector/react";
import type { DynamicsConnector, DynamicsConnectorEventMap } from "dynamics-connector";

// HTMLElementTagNameMap: the tag gives the element type.
const el: DynamicsConnector = document.createElement("dynamics-connector");
el.apiBase = "https://edge.example.com";
el.theme = "dark";
// @ts-expect-error theme is "light" | "dark" | "auto"
el.theme = "purple";
el.getHostToken = async () => "token";

// The event map: listeners get the typed detail.
el.addEventListener("dc-run-finished", (e) => {
  const status: "queued" | "running" | "succeeded" | "partial" | "failed" = e.detail.run.status;
  void status;
});
el.addEventListener("dc-request-delete", (e) => {
  const kind: "connection" | "job" = e.detail.kind;
  if (kind === "job") e.preventDefault();
});
const finished: DynamicsConnectorEventMap["dc-job-saved"]["detail"]["job"]["name"] = "x";
void finished;

// The React wrapper: element properties as props, events as typed on… props.
export const page = (
  <DynamicsConnectorReact
    apiBase="https://edge.example.com"
    getHostToken={async () => "token"}
    onRunFinished={(e) => console.log(e.detail.run.id)}
    onRequestDelete={(e) => e.detail.name.length}
  />
);
// @ts-expect-error apiBase is a string
export const wrong = <DynamicsConnectorReact apiBase={42} />;
