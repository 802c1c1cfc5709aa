/**
 * Benchmark page (built by test/bench/picker-bench.ts with vite, opened in Chromium): 1,000 entities — Microsoft's
 * published table list the sandbox uses (demo/sandbox/schema/entities.json) topped up with custom tables — in
 * (a) the pure filter (widget/src/editor/entity-filter.ts) and (b) the real <dc-combobox> the job editor uses.
 */
import "../../../widget/src/editor/combobox";
import type { DcCombobox, ComboItem } from "../../../widget/src/editor/combobox";
import { buildEntityIndex, filterEntities } from "../../../widget/src/editor/entity-filter";
import type { EntityInfo } from "#contract/metadata";
import entitiesRaw from "../../../demo/sandbox/schema/entities.json";

interface RawEntity {
  logicalName: string;
  displayName?: string;
  entitySetName?: string;
}
const N = 1000;
const base: EntityInfo[] = (entitiesRaw as RawEntity[]).map((e) => ({
  logicalName: e.logicalName,
  displayName: e.displayName ?? e.logicalName,
  entitySetName: e.entitySetName ?? `${e.logicalName}s`,
  primaryIdAttribute: `${e.logicalName}id`,
  primaryNameAttribute: "name",
  isCustom: false,
  changeTracking: false,
}));
const WORDS = [
  "Project",
  "Invoice",
  "Contract",
  "Asset",
  "Shipment",
  "Warranty",
  "Survey",
  "Booking",
  "Ticket",
  "Region",
  "Partner",
  "Budget",
  "Campaign",
  "Order",
  "Visit",
];
const entities: EntityInfo[] = [...base];
for (let i = 0; entities.length < N; i++) {
  const w = `${WORDS[i % WORDS.length]} ${WORDS[(i * 7 + 3) % WORDS.length]!.toLowerCase()} ${i}`;
  entities.push({
    logicalName: `cr123_${w.replace(/\s+/g, "").toLowerCase()}`,
    displayName: w,
    entitySetName: `cr123_x${i}s`,
    primaryIdAttribute: `cr123_x${i}id`,
    primaryNameAttribute: "cr123_name",
    isCustom: true,
    changeTracking: i % 2 === 0,
  });
}
entities.length = N;

declare global {
  interface Window {
    benchReady: boolean;
    benchCount: number;
    pureFilter(queries: string[], reps: number): { perCall: number[]; results: number[] };
    keyTimings: Array<{ key: string; dom: number; frame: number; shown: number }>;
    armKey(key: string): Promise<void>;
    waitKey(): Promise<{ key: string; dom: number; frame: number; shown: number }>;
  }
}

window.benchCount = entities.length;

window.pureFilter = (queries, reps) => {
  const index = buildEntityIndex(entities);
  const perCall: number[] = [];
  const results: number[] = [];
  // performance.now() is coarsened to 0.1 ms here: time a batch of 20 identical calls and divide.
  const BATCH = 20;
  for (let r = 0; r < reps; r++) {
    for (const q of queries) {
      let len = 0;
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) len = filterEntities(index, q).length;
      perCall.push((performance.now() - t0) / BATCH);
      if (r === 0) results.push(len);
    }
  }
  return { perCall, results };
};

const items: ComboItem[] = entities.map((e) => ({
  value: e.logicalName,
  label: e.displayName,
  secondary: e.logicalName,
  ...(e.isCustom ? { badges: ["custom"] } : {}),
}));
const el = document.createElement("dc-combobox") as DcCombobox;
el.label = "Source table";
el.items = items;
document.getElementById("mount")!.append(el);

// keystroke → render: t0 at the keydown (capture, before anything else), DOM = after the component's update and a
// forced style+layout, frame = the next animation frame after that (the virtualised rows are in by then).
let pending: { key: string; t0: number; resolve: (v: { key: string; dom: number; frame: number; shown: number }) => void } | null = null;
let result: Promise<{ key: string; dom: number; frame: number; shown: number }> | null = null;
window.armKey = async () => {};
window.addEventListener(
  "keydown",
  (e) => {
    if (!pending) return;
    pending.t0 = performance.now();
    void e;
  },
  { capture: true },
);
document.addEventListener("input", () => {
  const p = pending;
  if (!p) return;
  void el.updateComplete.then(() => {
    const lb = el.shadowRoot!.querySelector('[role="listbox"]') as HTMLElement | null;
    void lb?.getBoundingClientRect();
    void document.body.offsetHeight;
    const dom = performance.now() - p.t0;
    requestAnimationFrame(() => {
      const lb2 = el.shadowRoot!.querySelector('[role="listbox"]');
      const shown = lb2 ? lb2.querySelectorAll('[role="option"]').length : 0;
      const frame = performance.now() - p.t0;
      pending = null;
      p.resolve({ key: p.key, dom, frame, shown });
    });
  });
});
window.waitKey = () => result!;
(window as unknown as { expectKey(k: string): void }).expectKey = (key: string) => {
  result = new Promise((resolve) => (pending = { key, t0: performance.now(), resolve }));
};
void el.updateComplete.then(() => (window.benchReady = true));
