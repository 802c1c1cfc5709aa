/**
 * Stream permits per organization: one Durable Object per org (idFromName(orgKey)) bounds how many sync streams read
 * from that org at once, because Dataverse's service-protection limits are per application user — every job of the
 * org shares 52 concurrent requests and 1,200 s of execution time per 5 minutes (docs/scaling.md). Every sync stream
 * holds a permit while it reads.
 *
 * The number of permits adapts (AIMD), so one org's streams back off together instead of each retrying on its own:
 * - the ceiling is `max` = ORG_STREAM_PERMITS (default 4, 1..16), read on every call so a changed var applies at once;
 *   a stored limit above a lowered max is clamped;
 * - multiplicative decrease: a stream's report of a 429, or of headroom below 10 % of a budget, halves the limit
 *   (never below 1), at most once per 10 s — the streams that hit the same burst count once. Held permits are not
 *   revoked: new grants wait until fewer than floor(limit) are held;
 * - additive increase: +1 per 60 s without a decrease, up to max, computed from the stored timestamps on the next call
 *   (no alarm), so a throttled org regains one stream a minute.
 * A permit is valid for the ttlMs its holder asked for and is renewed by acquiring again; an expired one is dropped on
 * the next call, so a crashed stream's permit frees itself. The state is a small JSON value in the DO's own (SQLite)
 * storage, read and written with the synchronous KV API: each call is atomic and the state survives eviction.
 */
import { DurableObject } from "cloudflare:workers";
import { LOW_HEADROOM } from "../dataverse/client";
import type { Env } from "../env";

export interface PermitGrant {
  granted: true;
  limit: number;
}
export interface PermitRefusal {
  granted: false;
  retryMs: number;
  limit: number;
}

/** What a stream reports after talking to Dataverse. */
export interface PermitSignal {
  /** Dataverse answered 429 (service protection). */
  throttled: boolean;
  /** Lowest remaining share (0..1) of a service-protection budget the stream saw; null when the responses had none. */
  headroomFraction: number | null;
}

/** The stored state (key STATE_KEY). `limit` may be fractional after halving an odd number; grants use floor(limit). */
export interface PermitState {
  limit: number;
  /** When the limit was last halved (epoch ms; 0 = never). */
  lastDecreaseAt: number;
  /** When growth was last credited (epoch ms): the next +1 is due 60 s after the later of this and lastDecreaseAt. */
  lastGrowthAt: number;
  /** holder → expiresAt (epoch ms). */
  holders: Record<string, number>;
}

export const STATE_KEY = "permits";
export const DEFAULT_STREAMS = 4;
export const MAX_STREAMS = 16;
/** Several streams hitting the same burst of 429s halve the limit once. */
export const DECREASE_QUIET_MS = 10_000;
/** One more stream per this long without a decrease. */
export const GROWTH_INTERVAL_MS = 60_000;
export const MAX_TTL_MS = 10 * 60_000;
const MAX_HOLDER_LENGTH = 200;
const MIN_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;

export class OrgPermits extends DurableObject<Env> {
  /** Grants (or renews, if `holder` holds one already) a permit valid for ttlMs; refuses when `limit` permits are held. */
  async acquire(holder: string, ttlMs: number): Promise<PermitGrant | PermitRefusal> {
    requireHolder(holder);
    if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TTL_MS) {
      throw new Error(`ttlMs must be a positive number of milliseconds up to ${MAX_TTL_MS}, got ${String(ttlMs)}`);
    }
    const now = Date.now();
    const state = this._load(now);
    const limit = Math.floor(state.limit);
    const renewing = holder in state.holders;
    if (renewing || Object.keys(state.holders).length < limit) {
      state.holders[holder] = now + ttlMs;
      this._save(state);
      return { granted: true, limit };
    }
    this._save(state);
    const soonest = Math.min(...Object.values(state.holders));
    return { granted: false, retryMs: Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, soonest - now)), limit };
  }

  async release(holder: string): Promise<void> {
    requireHolder(holder);
    const state = this._load(Date.now());
    delete state.holders[holder];
    this._save(state);
  }

  /** A stream reports what Dataverse answered: a 429 (service protection) or the lowest headroom seen (fraction 0..1 of the remaining budget, or null when unknown). */
  async report(signal: PermitSignal): Promise<void> {
    if (typeof signal !== "object" || signal === null || typeof signal.throttled !== "boolean") {
      throw new Error("signal.throttled must be a boolean");
    }
    const fraction = signal.headroomFraction;
    if (fraction !== null && (typeof fraction !== "number" || !Number.isFinite(fraction) || fraction < 0 || fraction > 1)) {
      throw new Error(`signal.headroomFraction must be null or a number from 0 to 1, got ${String(fraction)}`);
    }
    const now = Date.now();
    const state = this._load(now);
    const pressure = signal.throttled || (fraction !== null && fraction < LOW_HEADROOM);
    if (pressure && now - state.lastDecreaseAt >= DECREASE_QUIET_MS) {
      state.limit = Math.max(1, state.limit / 2);
      state.lastDecreaseAt = now;
    }
    this._save(state);
  }

  /** For tests, the ops API and the bench: current limit, max, holders. */
  async status(): Promise<{ limit: number; max: number; held: number; holders: string[] }> {
    const state = this._load(Date.now());
    this._save(state);
    const holders = Object.keys(state.holders);
    return { limit: Math.floor(state.limit), max: maxStreams(this.env), held: holders.length, holders };
  }

  /** The state as of `now`: expired holders dropped, growth credited, clamped to the current max. */
  private _load(now: number): PermitState {
    const max = maxStreams(this.env);
    const stored = this.ctx.storage.kv.get<PermitState>(STATE_KEY);
    const state: PermitState = stored ?? { limit: max, lastDecreaseAt: 0, lastGrowthAt: now, holders: {} };
    for (const [holder, expiresAt] of Object.entries(state.holders)) {
      if (expiresAt <= now) delete state.holders[holder];
    }
    const since = Math.max(state.lastDecreaseAt, state.lastGrowthAt);
    const steps = Math.floor((now - since) / GROWTH_INTERVAL_MS);
    if (state.limit < max && steps > 0) {
      state.limit = Math.min(max, state.limit + steps);
      state.lastGrowthAt = since + steps * GROWTH_INTERVAL_MS;
    }
    state.limit = Math.min(state.limit, max);
    return state;
  }

  private _save(state: PermitState): void {
    this.ctx.storage.kv.put(STATE_KEY, state);
  }
}

/** The stub of an organization's permits DO: idFromName(orgKey). */
export function orgPermits(env: Env, orgKey: string): DurableObjectStub<OrgPermits> {
  return env.ORG_PERMITS.get(env.ORG_PERMITS.idFromName(orgKey));
}

const warnedValues = new Set<string>();

/** Most streams per organization: ORG_STREAM_PERMITS var (default 4, an integer 1..16; anything else → 4 with a console.warn once). */
export function maxStreams(env: Env): number {
  const raw = (env.ORG_STREAM_PERMITS ?? "").trim();
  if (raw === "") return DEFAULT_STREAMS;
  if (/^\d{1,2}$/.test(raw)) {
    const n = Number(raw);
    if (n >= 1 && n <= MAX_STREAMS) return n;
  }
  // Once per bad value, not per call: this runs on every permit call.
  if (!warnedValues.has(raw)) {
    warnedValues.add(raw);
    console.warn(
      JSON.stringify({ level: "warn", msg: `ORG_STREAM_PERMITS must be a whole number from 1 to ${MAX_STREAMS}; using ${DEFAULT_STREAMS}`, value: raw }),
    );
  }
  return DEFAULT_STREAMS;
}

function requireHolder(holder: string): void {
  if (typeof holder !== "string" || holder.length === 0 || holder.length > MAX_HOLDER_LENGTH) {
    throw new Error(`holder must be a non-empty string of at most ${MAX_HOLDER_LENGTH} characters`);
  }
}
