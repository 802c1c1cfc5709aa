// @vitest-environment jsdom
// (@lit/localize announces locale changes on window.)
import { afterAll, describe, expect, it } from "vitest";
import { EdgeError } from "../api/edge-client";
import { DynamicsAuthError } from "../auth/dynamics-auth";
import { applyLocale, edgeErrorText, runErrorText } from "./localization";

describe("texts the edge writes", () => {
  afterAll(() => applyLocale(""));

  it("keeps the edge's English message in English", async () => {
    await applyLocale("en");
    expect(edgeErrorText(new EdgeError(403, "forbidden", "Only admins can change jobs"))).toBe("Only admins can change jobs");
    expect(runErrorText({ code: "schema_drift", message: "Column foo was deleted" })).toBe("Column foo was deleted");
  });

  it("words a known code in German and French, and falls back to the edge's message for one it does not know", async () => {
    await applyLocale("de-AT");
    expect(edgeErrorText(new EdgeError(403, "forbidden", "Only admins can change jobs"))).toBe("Das dürfen Sie nicht.");
    expect(edgeErrorText({ code: "not_a_code", message: "Something new" })).toBe("Something new");
    expect(edgeErrorText(new Error("network down"))).toBe("network down");
    expect(edgeErrorText(new DynamicsAuthError("timed_out", "Microsoft sign-in took too long"))).toBe("Die Microsoft-Anmeldung hat zu lange gedauert.");
    expect(runErrorText({ code: "schema_drift", message: "Column foo was deleted" })).toBe("Die Spalten der Tabelle haben sich in Dynamics 365 geändert.");
    await applyLocale("fr");
    expect(edgeErrorText(new EdgeError(429, "rate_limited", "Slow down"))).toBe("Trop de requêtes. Attendez un instant et réessayez.");
    expect(runErrorText({ code: "unknown_code", message: "Edge text" })).toBe("Edge text");
  });
});
