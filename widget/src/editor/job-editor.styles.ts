import { css } from "lit";

/**
 * Every colour, radius and space goes through a `--dc-*` token of the root's theme (widget/src/styles/shared.styles.ts:
 * --dc-text, --dc-text-muted, --dc-bg, --dc-border, --dc-accent, --dc-accent-text, --dc-focus, --dc-danger(-bg),
 * --dc-warning, --dc-success, --dc-skeleton, --dc-radius, --dc-space) with a fallback, so the editor also looks right
 * alone; system colours (Canvas) follow the page's light or dark scheme.
 */
export const editorStyles = css`
  :host {
    display: block;
    container-type: inline-size;
    color: var(--dc-text, inherit);
    font: inherit;
    --_accent: var(--dc-accent, #2563eb);
    --_on-accent: var(--dc-accent-text, #ffffff);
    --_focus: var(--dc-focus, var(--dc-accent, #2563eb));
    --_bg: var(--dc-bg, Canvas);
    /* Inputs need a 3:1 border; the theme's --dc-border is for dividers, so inputs get their own token. */
    --_border: var(--dc-input-border, #8a8f98);
    --_soft: var(--dc-border, color-mix(in srgb, currentColor 18%, transparent));
    --_muted: var(--dc-text-muted, color-mix(in srgb, currentColor 72%, transparent));
    --_surface: var(--dc-bg, Canvas);
    --_danger: var(--dc-danger, #b91c1c);
    --_warning: var(--dc-warning, #92400e);
    --_success: var(--dc-success, #166534);
    --_radius: var(--dc-radius, 6px);
    --_space: calc(var(--dc-space, 0.5rem) * 2);
  }
  * {
    box-sizing: border-box;
  }
  /* The sections and dialogs render into this shadow root (no shadow root of their own): their elements are no box,
     so the page lays out exactly as if their content were written here. */
  dc-editor-source-section,
  dc-editor-mappings-section,
  dc-editor-identifiers-section,
  dc-editor-filter-section,
  dc-editor-schedule-section,
  dc-editor-preview-panel,
  dc-editor-create-object,
  dc-editor-add-field-dialog {
    display: contents;
  }
  [hidden] {
    display: none !important;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }

  .editor {
    display: flex;
    flex-direction: column;
    gap: var(--_space);
    padding-bottom: 0.5rem;
  }
  header {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem 1rem;
    align-items: baseline;
    justify-content: space-between;
  }
  h2 {
    margin: 0;
    font-size: 1.25rem;
  }
  h3 {
    margin: 0 0 0.75rem;
    font-size: 1.05rem;
  }
  h4 {
    margin: 0.75rem 0 0.5rem;
    font-size: 0.95rem;
  }
  .marker {
    color: var(--_muted);
    font-size: 0.875rem;
  }

  section {
    border: 1px solid var(--_soft);
    border-radius: var(--_radius);
    padding: var(--_space);
    background: var(--_surface);
    min-width: 0;
    scroll-margin-top: 1rem;
  }
  .section-num {
    color: var(--_muted);
    margin-right: 0.35rem;
  }
  .grid {
    display: grid;
    gap: 0.75rem 1rem;
    grid-template-columns: 1fr;
  }
  @container (min-width: 640px) {
    .grid.two {
      grid-template-columns: 1fr 1fr;
    }
  }
  .row {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: flex-end;
  }
  .row > * {
    min-width: 0;
  }
  .grow {
    flex: 1 1 12rem;
  }

  label,
  .label {
    display: block;
    font-weight: 600;
    margin-bottom: 0.25rem;
  }
  .field {
    min-width: 0;
  }
  input[type="text"],
  input[type="email"],
  input[type="url"],
  input[type="time"],
  input[type="number"],
  input:not([type]),
  select,
  textarea {
    width: 100%;
    min-width: 0;
    font: inherit;
    color: inherit;
    padding: 0.45rem 0.6rem;
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: var(--dc-input-bg, var(--_bg));
  }
  textarea {
    min-height: 4.5rem;
    font-family: var(--dc-mono, ui-monospace, SFMono-Regular, Menlo, monospace);
    font-size: 0.9em;
  }
  input:focus-visible,
  select:focus-visible,
  textarea:focus-visible,
  button:focus-visible {
    outline: 2px solid var(--_focus);
    outline-offset: 1px;
  }
  [aria-invalid="true"] {
    border-color: var(--_danger) !important;
  }
  .help {
    color: var(--_muted);
    font-size: 0.85rem;
    margin: 0.2rem 0 0;
  }
  .error {
    color: var(--_danger);
    font-size: 0.875rem;
    margin: 0.25rem 0 0;
  }
  .warning {
    color: var(--_warning);
  }

  button {
    font: inherit;
    cursor: pointer;
    border-radius: var(--_radius);
    padding: 0.45rem 0.85rem;
    border: 1px solid var(--_border);
    background: transparent;
    color: inherit;
    min-height: 2.25rem;
  }
  button.primary {
    background: var(--_accent);
    border-color: var(--_accent);
    color: var(--_on-accent);
    font-weight: 600;
  }
  button.link {
    border: none;
    padding: 0.2rem 0.25rem;
    color: var(--dc-link, var(--_accent));
    background: none;
    text-decoration: underline;
    min-height: auto;
  }
  button.icon {
    padding: 0.3rem 0.55rem;
  }
  button:disabled {
    opacity: 0.55;
    cursor: not-allowed;
  }

  fieldset {
    border: none;
    padding: 0;
    margin: 0;
    min-width: 0;
  }
  legend {
    font-weight: 600;
    padding: 0;
    margin-bottom: 0.35rem;
  }
  .choices {
    display: flex;
    flex-wrap: wrap;
    gap: 0.35rem 1rem;
  }
  .choices.stacked {
    flex-direction: column;
  }
  /* Radio, then its text with the explanation under it (side by side, a narrow screen squeezed both into slivers). */
  .choices.stacked label {
    display: grid;
    grid-template-columns: auto 1fr;
    column-gap: 0.35rem;
    align-items: baseline;
  }
  .choices.stacked label .grey {
    grid-column: 2;
  }
  /* Rows of repeated controls and the button that adds another: a little air between them. */
  .row + .row,
  .row + button,
  .sub + button,
  p.help + .row,
  p.help + .sub {
    margin-top: 0.5rem;
  }
  /* Spacing lives here, never in style attributes: a host's style-src CSP blocks those. */
  .spaced {
    margin-top: 0.75rem;
  }
  .row.actions {
    margin-top: 0.5rem;
  }
  .choices label {
    font-weight: normal;
    display: inline-flex;
    gap: 0.35rem;
    align-items: center;
    margin: 0;
  }
  .check {
    display: inline-flex;
    gap: 0.4rem;
    align-items: center;
    font-weight: normal;
  }

  .banner {
    border: 1px solid var(--_danger);
    border-left-width: 4px;
    border-radius: var(--_radius);
    padding: 0.75rem 1rem;
  }
  .banner.info {
    border-color: var(--_accent);
  }
  .banner p {
    margin: 0 0 0.35rem;
  }
  .banner ul {
    margin: 0.25rem 0 0;
    padding-left: 1.25rem;
  }
  details summary {
    cursor: pointer;
    color: var(--_muted);
    font-size: 0.85rem;
  }

  .badge {
    display: inline-block;
    font-size: 0.75rem;
    padding: 0 0.4rem;
    border-radius: 999px;
    border: 1px solid var(--_border);
    color: var(--_muted);
    font-weight: normal;
  }
  .badge.required {
    border-color: var(--_danger);
    color: var(--_danger);
  }
  .badge.guess {
    border-color: var(--_warning);
    color: var(--_warning);
  }

  /* Mapping rows: a card per row on narrow screens, a three-column grid on wide ones. */
  .mappings {
    display: flex;
    flex-direction: column;
    gap: 0.5rem;
  }
  .mapping {
    display: grid;
    gap: 0.4rem 0.75rem;
    grid-template-columns: 1fr auto;
    padding: 0.6rem;
    border: 1px solid var(--_soft);
    border-radius: var(--_radius);
  }
  .mapping > :nth-child(1) {
    grid-column: 1;
    grid-row: 1;
    min-width: 0;
  }
  .mapping > :nth-child(2) {
    grid-column: 1 / -1;
    grid-row: 2;
    min-width: 0;
  }
  .mapping > :nth-child(3) {
    grid-column: 2;
    grid-row: 1;
  }
  .mapping.guess {
    border-color: var(--_warning);
  }
  @container (min-width: 720px) {
    .mapping {
      grid-template-columns: minmax(10rem, 14rem) 1fr auto;
      align-items: start;
    }
    .mapping > :nth-child(n) {
      grid-row: 1;
      grid-column: auto;
    }
  }
  .target-name {
    font-weight: 600;
    overflow-wrap: anywhere;
  }
  .target-meta {
    color: var(--_muted);
    font-size: 0.85rem;
  }
  .mapping-extra {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem 1rem;
    align-items: center;
    margin-top: 0.4rem;
  }
  .mapping-actions {
    display: flex;
    gap: 0.25rem;
    align-items: center;
    flex-wrap: wrap;
  }
  .toolbar {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: center;
    margin-bottom: 0.75rem;
  }

  .toolbar .push {
    margin-left: auto;
  }
  @container (max-width: 420px) {
    .toolbar .push {
      margin-left: 0;
    }
  }

  /* "Add a field to <Object>": a native modal dialog (top layer; the page behind is inert). */
  dialog {
    width: min(36rem, calc(100vw - 2rem));
    max-height: calc(100dvh - 2rem);
    padding: var(--_space);
    border: 1px solid var(--_soft);
    border-radius: var(--_radius);
    background: var(--_bg);
    color: var(--dc-text, CanvasText);
    box-shadow: 0 12px 32px rgb(0 0 0 / 0.3);
  }
  dialog::backdrop {
    background: rgb(0 0 0 / 0.45);
  }
  dialog .stack {
    display: grid;
    gap: 0.75rem;
    margin-top: 0.75rem;
  }
  dialog .actions {
    margin-top: 1rem;
  }

  .sub {
    border: 1px dashed var(--_soft);
    border-radius: var(--_radius);
    padding: 0.75rem;
    margin-top: 0.5rem;
  }
  .attr-list {
    max-height: 16rem;
    overflow: auto;
    border: 1px solid var(--_soft);
    border-radius: var(--_radius);
    padding: 0.35rem 0.5rem;
  }
  .attr-list label {
    font-weight: normal;
    display: flex;
    gap: 0.4rem;
    align-items: baseline;
    margin: 0.15rem 0;
  }
  .grey {
    color: var(--_muted);
    font-size: 0.85em;
  }

  .runs {
    margin: 0.25rem 0 0;
    padding-left: 1.25rem;
  }
  .table-wrap {
    overflow-x: auto;
    max-width: 100%;
    border: 1px solid var(--_soft);
    border-radius: var(--_radius);
  }
  table {
    border-collapse: collapse;
    width: 100%;
    font-size: 0.9rem;
  }
  caption {
    text-align: left;
    padding: 0.5rem;
    color: var(--_muted);
  }
  th,
  td {
    border-bottom: 1px solid var(--_soft);
    padding: 0.35rem 0.5rem;
    text-align: left;
    vertical-align: top;
  }
  td.cell-error {
    background: var(--dc-danger-bg, color-mix(in srgb, var(--_danger) 10%, transparent));
  }
  .cell-reason {
    display: block;
    color: var(--_danger);
    font-size: 0.8rem;
  }
  .null {
    color: var(--_muted);
    font-style: italic;
  }

  .footer {
    position: sticky;
    bottom: 0;
    z-index: 5;
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: center;
    justify-content: flex-end;
    padding: 0.75rem var(--_space);
    background: var(--_bg);
    border: 1px solid var(--_soft);
    border-radius: var(--_radius);
    box-shadow: 0 -4px 12px rgb(0 0 0 / 0.08);
  }
  .footer .marker {
    margin-right: auto;
  }
  @container (max-width: 420px) {
    .footer .marker {
      flex-basis: 100%;
    }
  }
  .skeleton {
    height: 2.25rem;
    border-radius: var(--_radius);
    background: var(--dc-skeleton, var(--_soft));
    animation: pulse 1.2s ease-in-out infinite;
  }
  @keyframes pulse {
    50% {
      opacity: 0.5;
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .skeleton {
      animation: none;
    }
  }
`;
