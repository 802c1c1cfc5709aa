// @vitest-environment jsdom
// (@lit/localize announces locale changes on window.)
import { afterAll, describe, expect, it } from "vitest";
import type { AttributeInfo } from "#contract/metadata";
import { applyLocale } from "../l10n/localization";
import { sourceItems } from "./metadata-views";

describe("picker items in the widget's language", () => {
  afterAll(() => applyLocale(""));

  it("are built again when the language changes (badges and hints are words), and kept while it does not", async () => {
    const attrs: AttributeInfo[] = [
      { logicalName: "lastname", displayName: "Last Name", type: "String", required: "required", readable: true },
      { logicalName: "birthdate", displayName: "Birthday", type: "DateTime", required: "none", readable: true },
    ];
    await applyLocale("en");
    const en = sourceItems(attrs, "date", true);
    expect(en.find((i) => i.value === "lastname")?.hint).toBe("Text does not fit Date");
    await applyLocale("de");
    const de = sourceItems(attrs, "date", true);
    expect(de).not.toBe(en);
    expect(de).toBe(sourceItems(attrs, "date", true));
    expect(de.find((i) => i.value === "lastname")).toMatchObject({ hint: "Text passt nicht zu Datum", badges: ["Pflichtfeld"] });
    expect(de.at(-1)?.label).toBe("Die 1 unpassenden Spalten ausblenden");
  });
});
