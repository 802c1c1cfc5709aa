import { localized, msg } from "@lit/localize";
import { LitElement, html, nothing, type PropertyValues } from "lit";
import { property, state } from "lit/decorators.js";
import type { Connection } from "#contract/connection";
import type { Job } from "#contract/job";
import { EdgeClient } from "../api/edge-client";
import { DynamicsAuth } from "../auth/dynamics-auth";
import { hostRoleOf, type HostRole } from "../auth/host-role";
import { emit, type DcEvent } from "../events";
import { applyLocale, getLocale } from "../l10n/localization";
import { asList } from "../util/format";
import "../views/connections-view";
import "../views/connection-card";
import { adminOnlyNote, errorBanner } from "../views/ui";
import { styles } from "./dynamics-connector.styles";

type LoadState = "idle" | "loading" | "ready" | { error: unknown };

type Route =
  | { view: "connections" }
  | { view: "connection"; id: string }
  | { view: "job"; connectionId: string; jobId: string | null }
  | { view: "runs"; connectionId: string; jobId: string; runId?: string }
  | { view: "records"; connectionId: string; jobId: string };

/**
 * The open editor survives a reload of the page (its draft is in IndexedDB; this says which job it was). Per tab, per
 * edge; other views start at the connections list as before.
 */
const EDITOR_ROUTE_KEY = (apiBase: string) => `dynamics-connector:editor-route:${apiBase}`;

// A variable, not a literal: Vite would otherwise try to bundle it as an asset. redirect.html sits beside the entry
// (dist/widget/); this module is in the entry, so import.meta.url is the entry's URL.
const REDIRECT_PAGE = "redirect.html";

/**
 * `<dynamics-connector>`: connect a Microsoft Dynamics 365 environment and sync its tables into this product.
 * Every public event bubbles and is composed; its `detail` is typed in `DynamicsConnectorEventMap`.
 *
 * @summary Microsoft Dynamics 365 connections, sync jobs and runs, for a host product's admin page.
 * @tagname dynamics-connector
 *
 * @fires {CustomEvent<{ connection: Connection }>} dc-connection-created - a connection was created
 * @fires {CustomEvent<{ connection: Connection; readiness: Readiness | undefined }>} dc-connection-authorized - the admin signed in to Microsoft and the edge verified access
 * @fires {CustomEvent<{ job: Job }>} dc-job-saved - a job was created or changed
 * @fires {CustomEvent<{ jobId: string; runId: string }>} dc-run-started - "Run now" started a run
 * @fires {CustomEvent<{ run: Run }>} dc-run-finished - a run the admin is watching ended
 * @fires {CustomEvent<{ action: string; error: Error; code?: string; requestId?: string }>} dc-error - an action failed (also shown inline)
 * @fires {CustomEvent<RequestDeleteDetail>} dc-request-delete - cancelable, right before a deletion: `preventDefault()` vetoes it
 *
 * @csspart shell - the outer frame
 * @csspart header - title and connection switcher
 * @csspart connections - the connections list
 * @csspart empty-state - the connections list when there is none
 * @csspart connection-card - one connection
 * @csspart card-actions - a connection card's buttons
 * @csspart connection-form - the new-connection form
 * @csspart auth-waiting - the banner while the Microsoft sign-in popup is open
 * @csspart popup-blocked - the banner when the browser blocked the sign-in popup
 * @csspart status-chip - every status chip (connection status, last run, run status)
 * @csspart readiness - the readiness report
 * @csspart jobs - the jobs table
 * @csspart runs - the runs view
 * @csspart runs-chart - the runs chart
 * @csspart run-detail - one run's details
 * @csspart run-progress - a running run's progress
 * @csspart records - the synced records view
 * @csspart job-summary - a job's configuration, read-only (what a viewer sees instead of the editor)
 * @csspart error-banner - every inline error banner
 *
 * @cssprop [--dc-font-family=inherit] - font of every text (the page's by default)
 * @cssprop [--dc-font-size=0.9375rem] - base font size; everything scales with it
 * @cssprop [--dc-accent=#0f6cbd] - primary colour: buttons, links, progress (dark: #5caaf5)
 * @cssprop [--dc-accent-text=#ffffff] - text on the accent colour (dark: #0b1a2a)
 * @cssprop [--dc-bg=#ffffff] - background (dark: #1d1f23)
 * @cssprop [--dc-surface=#f7f8fa] - cards and table headers (dark: #25282d)
 * @cssprop [--dc-text=#1b1d21] - text (dark: #eceef1)
 * @cssprop [--dc-text-muted=#5b6070] - secondary text, ≥ 4.5:1 on the background (dark: #a9aebb)
 * @cssprop [--dc-border=#d5d8de] - borders (dark: #40444c)
 * @cssprop [--dc-focus=#0f6cbd] - focus ring (dark: #8cc3ff)
 * @cssprop [--dc-success=#0e700e] - success text (dark: #7ad17a)
 * @cssprop [--dc-success-bg=#e5f3e5] - success chips (dark: #1d3a1d)
 * @cssprop [--dc-warning=#8a5300] - warning text (dark: #f2c661)
 * @cssprop [--dc-warning-bg=#fff4ce] - warning chips and banners (dark: #3d3216)
 * @cssprop [--dc-danger=#b10e1c] - error text and destructive buttons (dark: #ff9a9f)
 * @cssprop [--dc-danger-bg=#fde7e9] - error chips and banners (dark: #46191c)
 * @cssprop [--dc-neutral-bg=#eceef1] - neutral chips (dark: #33363c)
 * @cssprop [--dc-skeleton=#e6e8ec] - loading placeholders (dark: #33363c)
 * @cssprop [--dc-radius=8px] - corner radius of cards and the frame
 * @cssprop [--dc-radius-small=4px] - corner radius of fields, buttons and chips
 * @cssprop [--dc-space=0.5rem] - the spacing unit
 */
@localized()
export class DynamicsConnector extends LitElement {
  static override styles = styles;

  /** Origin of the edge Worker, e.g. `https://edge.example.com` (the API lives under `/api/v1`). */
  @property({ attribute: "api-base" }) apiBase = "";
  /** Microsoft Entra application (SPA) id used for the admin's sign-in. */
  @property({ attribute: "client-id" }) clientId = "";
  /** Microsoft sign-in authority. */
  @property() authority = "https://login.microsoftonline.com/organizations";
  /**
   * Page the sign-in popup returns to (absolute, or relative to the host page); defaults to `redirect.html` next to the
   * widget's bundle. It must be on the host page's origin (msal answers the opener over a BroadcastChannel): a host that
   * loads the widget from the edge serves its own page running `<edge>/widget/redirect.js` (docs/widget.md, "Serving").
   */
  @property({ attribute: "redirect-uri" }) redirectUri = "";
  /** `light`, `dark` or `auto` (follow the operating system). */
  @property({ reflect: true }) theme: "light" | "dark" | "auto" = "auto";
  /**
   * The widget's language, a BCP 47 tag (`de`, `fr-CA`, `en-GB`); empty: the nearest `lang` attribute around the
   * element (usually `<html lang>`), followed when it changes. Texts are English, German or French (nearest match,
   * else English); dates, numbers and relative times are formatted in the exact tag.
   */
  @property({ reflect: true }) locale = "";
  /**
   * The host's session token provider; called again once after a 401. Its `role` claim (`viewer`) hides the write
   * actions — a UI hint: the edge enforces the role.
   */
  @property({ attribute: false }) getHostToken: (() => Promise<string>) | null = null;

  @state() private _route: Route = { view: "connections" };
  @state() private _connections: Connection[] | null = null;
  @state() private _loadError: unknown = null;
  @state() private _jobs = new Map<string, Job[]>();
  @state() private _editorState: LoadState = "idle";
  /** The views behind a connection (views/connection-pages.ts), a lazy chunk fetched when first needed. */
  @state() private _pagesState: LoadState = "idle";
  @state() private _justAuthorized: string | null = null;
  @state() private _jobsError: unknown = null;
  /**
   * The host user's role, from the latest host token (see host-role.ts: a UI hint, the edge enforces it). Viewers get
   * the same pages without the actions the edge would refuse them. Follows the token: a refreshed token may change it.
   */
  @state() private _hostRole: HostRole = "admin";

  private _client: EdgeClient | null = null;
  private readonly _auth = new DynamicsAuth(
    () => ({
      clientId: this.clientId,
      authority: this.authority,
      redirectUri: new URL(this.redirectUri || REDIRECT_PAGE, this.redirectUri ? location.href : import.meta.url).href,
    }),
    this,
  );

  private _langObserver: MutationObserver | null = null;

  override connectedCallback(): void {
    super.connectedCallback();
    // Without a locale attribute the page's language decides, also when the page changes it later.
    this._langObserver = new MutationObserver(() => !this.locale && void this._applyLocale());
    this._langObserver.observe(document.documentElement, { attributes: true, attributeFilter: ["lang"], subtree: true });
    void this._applyLocale();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this._langObserver?.disconnect();
    this._langObserver = null;
  }

  private async _applyLocale(): Promise<void> {
    await applyLocale(this.locale || this.parentElement?.closest("[lang]")?.getAttribute("lang") || document.documentElement.lang);
    // Texts re-render through @localized(); dates and numbers may follow a new regional tag of the same language.
    this.requestUpdate();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("locale") && changed.get("locale") !== undefined) void this._applyLocale();
    if ((changed.has("apiBase") || changed.has("getHostToken")) && this.apiBase && this.getHostToken) {
      const getHostToken = this.getHostToken;
      this._client = new EdgeClient({
        apiBase: this.apiBase,
        getHostToken: async () => {
          const token = await getHostToken();
          // Every token the edge sees passes here, so the UI follows the role of the session the edge enforces.
          if (this.getHostToken === getHostToken) this._hostRole = hostRoleOf(token);
          return token;
        },
      });
      this._restoreEditorRoute();
      void this.loadConnections();
    }
    // A refreshed token made a viewer an admin on a job's page: the editor replaces the read-only configuration.
    if ((changed as PropertyValues).has("_hostRole") && this._hostRole === "admin" && this._route.view === "job") void this._loadEditor();
  }

  /** Reloads the connections from the edge. */
  async loadConnections(): Promise<void> {
    if (!this._client) return;
    this._loadError = null;
    try {
      const list = asList<Connection>(await this._client.request("GET", "/connections"));
      // Keep a readiness report we got from authorize if the list omits it.
      const prev = new Map((this._connections ?? []).map((c) => [c.id, c]));
      this._connections = list.map((c) => ({ ...c, readiness: c.readiness ?? prev.get(c.id)?.readiness }) as Connection);
      if (this._route.view !== "connections" && !this._currentConnection()) void this._navigate({ view: "connections" });
      else if (this._route.view !== "connections" && this._route.view !== "connection") void this._ensureJobs(this._route.connectionId);
    } catch (e) {
      this._loadError = e;
      emit(this, "dc-error", { action: "load-connections", error: e as Error });
    }
  }

  private _currentConnection(): Connection | null {
    const r = this._route;
    const id = r.view === "connection" ? r.id : r.view === "connections" ? null : r.connectionId;
    return (id && this._connections?.find((c) => c.id === id)) || null;
  }

  private async _navigate(route: Route): Promise<void> {
    this._setRoute(route);
    await this.updateComplete;
    // Move focus to the new page's title so keyboard and screen-reader users land where the content changed.
    this.renderRoot.querySelector<HTMLElement>("nav [aria-current]")?.focus();
  }

  /** Changes the route without moving focus (e.g. a new job that was just saved keeps the admin where they are). */
  private _setRoute(route: Route): void {
    this._route = route;
    if (route.view !== "connections") void this._loadPages();
    if (route.view === "job" && this._hostRole !== "viewer") void this._loadEditor();
    if (route.view !== "connections" && route.view !== "connection" && this._connections) void this._ensureJobs(route.connectionId);
    this._saveEditorRoute();
  }

  private _saveEditorRoute(): void {
    try {
      const key = EDITOR_ROUTE_KEY(this.apiBase);
      const r = this._route;
      if (r.view === "job") sessionStorage.setItem(key, JSON.stringify({ connectionId: r.connectionId, jobId: r.jobId }));
      else sessionStorage.removeItem(key);
    } catch {
      /* storage blocked (sandboxed iframe, privacy mode): the editor just does not survive a reload */
    }
  }

  private _restoreEditorRoute(): void {
    if (this._route.view !== "connections") return;
    try {
      const saved = JSON.parse(sessionStorage.getItem(EDITOR_ROUTE_KEY(this.apiBase)) ?? "null") as { connectionId?: unknown; jobId?: unknown } | null;
      if (saved && typeof saved.connectionId === "string" && (saved.jobId === null || typeof saved.jobId === "string")) {
        this._setRoute({ view: "job", connectionId: saved.connectionId, jobId: saved.jobId });
      }
    } catch {
      /* nothing to restore */
    }
  }

  /** The jobs of a connection, for views opened without the jobs table (a restored editor). */
  private async _ensureJobs(connectionId: string): Promise<void> {
    if (this._jobs.has(connectionId) || !this._client) return;
    this._jobsError = null;
    try {
      const all = asList<Job>(await this._client.request("GET", `/jobs?connectionId=${encodeURIComponent(connectionId)}`));
      if (this._jobs.has(connectionId)) return;
      this._jobs = new Map(this._jobs).set(
        connectionId,
        all.filter((j) => j.connectionId === connectionId),
      );
      const r = this._route;
      // The job was deleted since (or belongs to another session's tenant): back to its connection, not a dead end.
      if (
        r.view !== "connections" &&
        r.view !== "connection" &&
        r.connectionId === connectionId &&
        r.jobId &&
        !this._jobs.get(connectionId)!.some((j) => j.id === r.jobId)
      ) {
        void this._navigate({ view: "connection", id: connectionId });
      }
    } catch (e) {
      this._jobsError = e;
      emit(this, "dc-error", { action: "load-jobs", error: e as Error });
    }
  }

  private async _loadPages(): Promise<void> {
    if (this._pagesState === "ready" || this._pagesState === "loading") return;
    this._pagesState = "loading";
    try {
      await import("../views/connection-pages");
      this._pagesState = "ready";
    } catch (e) {
      this._pagesState = { error: e };
    }
  }

  private async _loadEditor(): Promise<void> {
    if (this._editorState === "ready" || this._editorState === "loading") return;
    this._editorState = "loading";
    try {
      // Its own chunk (with the virtualizer, croner, idb): fetched when the admin first opens a job.
      await import("../editor/job-editor");
      this._editorState = "ready";
    } catch (e) {
      this._editorState = { error: e };
    }
  }

  override render() {
    if (!this.apiBase || !this.getHostToken) {
      return html`<div class="shell" part="shell" lang=${getLocale()}>
        <div class="banner info" role="status">
          ${!this.apiBase ? msg("Set the api-base attribute to the connector service's address.") : msg("Waiting for the page to provide a session…")}
        </div>
      </div>`;
    }
    return html`<div class="shell" part="shell" lang=${getLocale()}>
      <header part="header">
        <p class="brand">${logo()}<span>${msg("Microsoft Dynamics 365")}</span></p>
        <span class="spacer"></span>
        ${this._renderSwitcher()}
      </header>
      ${this._renderBreadcrumbs()}
      <div class="content">${this._renderRoute()}</div>
    </div>`;
  }

  private _renderSwitcher() {
    const list = this._connections ?? [];
    const current = this._currentConnection();
    if (list.length < 2 || !current) return nothing;
    return html`<div class="switcher">
      <label for="dc-switch">${msg("Connection")}</label>
      <select id="dc-switch" @change=${(e: Event) => this._navigate({ view: "connection", id: (e.target as HTMLSelectElement).value })}>
        ${list.map((c) => html`<option value=${c.id} ?selected=${c.id === current.id}>${c.name}</option>`)}
      </select>
    </div>`;
  }

  private _renderBreadcrumbs() {
    const r = this._route;
    const conn = this._currentConnection();
    const crumbs: Array<{ label: string; go?: Route }> = [{ label: msg("Connections"), go: { view: "connections" } }];
    if (conn) crumbs.push({ label: conn.name, go: { view: "connection", id: conn.id } });
    if (conn && (r.view === "job" || r.view === "runs" || r.view === "records")) {
      crumbs.push({ label: msg("Jobs"), go: { view: "connection", id: conn.id } });
      const job = r.jobId ? this._jobs.get(conn.id)?.find((j) => j.id === r.jobId) : null;
      crumbs.push({ label: job ? job.name : r.view === "job" ? msg("New job") : msg("Job"), go: { view: "job", connectionId: conn.id, jobId: r.jobId } });
      if (r.view === "runs") crumbs.push({ label: msg("Runs") });
      if (r.view === "records" && r.jobId) {
        crumbs.push({ label: msg("Runs"), go: { view: "runs", connectionId: conn.id, jobId: r.jobId } });
        crumbs.push({ label: msg("Records") });
      }
    }
    return html`<nav aria-label=${msg("Breadcrumb")}>
      <ol>
        ${crumbs.map((c, i) =>
          i === crumbs.length - 1
            ? html`<li><span aria-current="page" tabindex="-1">${c.label}</span></li>`
            : html`<li><button type="button" class="link" @click=${() => c.go && this._navigate(c.go)}>${c.label}</button></li>`,
        )}
      </ol>
    </nav>`;
  }

  private _renderRoute() {
    const r = this._route;
    const client = this._client!;
    const readOnly = this._hostRole === "viewer";
    if (r.view !== "connections" && this._pagesState !== "ready") return this._renderPagesLoading();
    switch (r.view) {
      case "connections":
        return html`<dc-connections-view
          exportparts="connections, empty-state, connection-card, card-actions, status-chip, connection-form, auth-waiting, popup-blocked, error-banner"
          .connections=${this._connections}
          .loadError=${this._loadError}
          .client=${client}
          .auth=${this._auth}
          .readOnly=${readOnly}
          @dc-connections-reload=${() => this.loadConnections()}
          @dc-connection-form-created=${this._onCreated}
          @dc-connection-open=${(e: DcEvent<"dc-connection-open">) => this._navigate({ view: "connection", id: e.detail.id })}
          @dc-connection-changed=${this._onChanged}
          @dc-connection-deleted=${this._onDeleted}
        ></dc-connections-view>`;
      case "connection": {
        const conn = this._currentConnection();
        if (!conn) return this._loadingOrMissing();
        const authorized = conn.status !== "not_authorized";
        return html`<div class="page-intro">
          <dc-connection-card
            exportparts="connection-card, card-actions, status-chip, auth-waiting, popup-blocked, error-banner"
            .connection=${conn}
            .client=${client}
            .auth=${this._auth}
            .readOnly=${readOnly}
            @dc-connection-changed=${this._onChanged}
            @dc-connection-deleted=${this._onDeleted}
          ></dc-connection-card>
          ${this._justAuthorized === conn.id ? html`<div class="banner info" role="status">${msg("Authorized. The standard jobs are ready below; they run on their schedule once enabled, or now with “Run now”.")}</div>` : nothing}
          <dc-readiness-report exportparts="readiness" .readiness=${conn.readiness}></dc-readiness-report>
          ${
            authorized || (conn.jobCount ?? 0) > 0
              ? html`<dc-jobs-table
                  exportparts="jobs, status-chip, error-banner"
                  .client=${client}
                  .connectionId=${conn.id}
                  ?canCreate=${authorized}
                  .readOnly=${readOnly}
                  @dc-jobs-loaded=${(e: DcEvent<"dc-jobs-loaded">) => (this._jobs = new Map(this._jobs).set(conn.id, e.detail.jobs))}
                  @dc-job-open=${(e: DcEvent<"dc-job-open">) => this._navigate({ view: "job", connectionId: conn.id, jobId: e.detail.job?.id ?? null })}
                  @dc-runs-open=${(e: DcEvent<"dc-runs-open">) => this._navigate({ view: "runs", connectionId: conn.id, jobId: e.detail.job.id, ...(e.detail.runId ? { runId: e.detail.runId } : {}) })}
                ></dc-jobs-table>`
              : html`<p class="card muted">
                  ${
                    readOnly
                      ? msg(
                          "This connection is not authorized yet. An admin of this product authorizes it with a Dynamics 365 administrator account; its standard jobs then appear here.",
                        )
                      : msg(
                          "Authorize this connection with a Dynamics 365 administrator account. The standard jobs (Accounts, Contacts, Users) are created for you.",
                        )
                  }
                </p>`
          }
        </div>`;
      }
      case "job":
        return this._renderEditor(r);
      case "runs": {
        const conn = this._currentConnection();
        const job = this._jobs.get(r.connectionId)?.find((j) => j.id === r.jobId);
        if (!conn || !job) return this._loadingOrMissing();
        return html`<dc-runs-view
          exportparts="runs, runs-chart, run-detail, run-progress, status-chip, error-banner"
          .client=${client}
          .job=${job}
          .focusRunId=${r.runId ?? null}
          .readOnly=${readOnly}
          @dc-records-open=${() => this._navigate({ view: "records", connectionId: r.connectionId, jobId: r.jobId })}
        ></dc-runs-view>`;
      }
      case "records": {
        const job = this._jobs.get(r.connectionId)?.find((j) => j.id === r.jobId);
        if (!this._currentConnection() || !job) return this._loadingOrMissing();
        return html`<dc-records-view exportparts="records, error-banner" .client=${client} .job=${job}></dc-records-view>`;
      }
    }
  }

  private _renderEditor(r: Extract<Route, { view: "job" }>) {
    const conn = this._currentConnection();
    const jobs = this._jobs.get(r.connectionId) ?? [];
    const job = r.jobId ? (jobs.find((j) => j.id === r.jobId) ?? null) : null;
    if (!conn || (r.jobId && !job)) return this._loadingOrMissing();
    if (this._hostRole === "viewer") {
      // Viewers read the job's configuration instead of the editor (whose every control writes, and whose metadata
      // needs a Microsoft sign-in a viewer has no reason to do).
      if (!job)
        return html`<div class="card stack">
          ${adminOnlyNote(msg("Only admins can create jobs."))}
          <div><button type="button" @click=${() => this._navigate({ view: "connection", id: conn.id })}>${msg("Back to jobs")}</button></div>
        </div>`;
      return html`<dc-job-summary
        exportparts="job-summary, status-chip, error-banner"
        .job=${job}
        .jobs=${jobs}
        .client=${this._client}
        @dc-runs-open=${() => this._navigate({ view: "runs", connectionId: conn.id, jobId: job.id })}
        @dc-job-summary-close=${() => this._navigate({ view: "connection", id: conn.id })}
      ></dc-job-summary>`;
    }
    const st = this._editorState;
    if (typeof st === "object") {
      return errorBanner(
        msg("The job editor could not be loaded."),
        st.error,
        html`<button
          type="button"
          @click=${() => {
            this._editorState = "idle";
            void this._loadEditor();
          }}
        >
          ${msg("Retry")}
        </button>`,
      );
    }
    if (st !== "ready")
      return html`<div class="card stack" aria-busy="true">
        <span class="visually-hidden" role="status">${msg("Loading the job editor…")}</span> <span class="skeleton"></span><span class="skeleton"></span
        ><span class="skeleton"></span>
      </div>`;
    return html`<dc-job-editor
      .client=${this._client}
      .connection=${conn}
      .job=${job}
      .jobs=${jobs}
      .getDynamicsToken=${() => this._auth.getDynamicsToken(conn.orgUrl)}
      @dc-job-saved=${(e: DcEvent<"dc-job-saved">) => this._onJobSaved(conn, e.detail.job)}
      @dc-editor-close=${() => this._navigate({ view: "connection", id: conn.id })}
    ></dc-job-editor>`;
  }

  private _renderPagesLoading() {
    const st = this._pagesState;
    if (typeof st === "object")
      return errorBanner(
        msg("This page could not be loaded."),
        st.error,
        html`<button
          type="button"
          @click=${() => {
            this._pagesState = "idle";
            void this._loadPages();
          }}
        >
          ${msg("Retry")}
        </button>`,
      );
    return html`<div class="card stack" aria-busy="true"><span class="skeleton"></span><span class="skeleton"></span></div>`;
  }

  private _loadingOrMissing() {
    const r = this._route;
    // A restored editor waits for its connection's jobs (the jobs table is not there to load them).
    const jobsPending = r.view !== "connections" && r.view !== "connection" && !this._jobs.has(r.connectionId);
    if (jobsPending && this._jobsError) {
      const id = r.connectionId;
      return errorBanner(
        msg("The jobs could not be loaded."),
        this._jobsError,
        html`<button type="button" @click=${() => void this._ensureJobs(id)}>${msg("Retry")}</button>`,
      );
    }
    if (this._connections === null || jobsPending)
      return html`<div class="card stack" aria-busy="true"><span class="skeleton"></span><span class="skeleton"></span></div>`;
    return html`<div class="banner warning" role="alert">
      ${msg("This item no longer exists.")}
      <button type="button" class="link" @click=${() => this._navigate({ view: "connections" })}>${msg("Back to connections")}</button>
    </div>`;
  }

  private _onJobSaved(conn: Connection, job: Job): void {
    const list = this._jobs.get(conn.id) ?? [];
    const next = list.some((j) => j.id === job.id) ? list.map((j) => (j.id === job.id ? job : j)) : [...list, job];
    this._jobs = new Map(this._jobs).set(conn.id, next);
    // A new job now has an id: the route (breadcrumb, reload) follows it, and the editor keeps editing that job.
    const r = this._route;
    if (r.view === "job" && r.connectionId === conn.id && r.jobId === null) this._setRoute({ view: "job", connectionId: conn.id, jobId: job.id });
  }

  private _onCreated(e: DcEvent<"dc-connection-form-created">): void {
    const c = e.detail.connection;
    this._connections = [...(this._connections ?? []), c];
    void this._navigate({ view: "connection", id: c.id });
  }

  private _onChanged(e: DcEvent<"dc-connection-changed">): void {
    const c = e.detail.connection;
    this._connections = (this._connections ?? []).map((x) => (x.id === c.id ? { ...x, ...c } : x));
    if (e.detail.authorized) {
      this._justAuthorized = c.id;
      if (this._route.view === "connection" && this._route.id === c.id) {
        // Re-render the jobs table so the out-of-the-box jobs appear.
        this.renderRoot.querySelector("dc-jobs-table")?.load();
      } else void this._navigate({ view: "connection", id: c.id });
    }
  }

  private _onDeleted(e: DcEvent<"dc-connection-deleted">): void {
    this._connections = (this._connections ?? []).filter((c) => c.id !== e.detail.id);
    if (this._route.view !== "connections") void this._navigate({ view: "connections" });
  }
}

function logo() {
  return html`<svg class="logo" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
    <path d="M5 2l7 3v14l-7 3z" fill="#0b53ce"></path>
    <path d="M12 5l7 4v6l-7 4z" fill="#2a8af7" opacity=".9"></path>
    <path d="M5 22l14-7v-6z" fill="#7fbaff" opacity=".7"></path>
  </svg>`;
}
