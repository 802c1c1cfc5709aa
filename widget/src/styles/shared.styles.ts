import { css } from "lit";

/** The dark palette, applied by the OS preference (unless theme="light") or by theme="dark". */
const darkTokens = css`
  --dc-accent: #5caaf5;
  --dc-accent-text: #0b1a2a;
  --dc-bg: #1d1f23;
  --dc-surface: #25282d;
  --dc-text: #eceef1;
  --dc-text-muted: #a9aebb;
  --dc-border: #40444c;
  --dc-focus: #8cc3ff;
  --dc-success: #7ad17a;
  --dc-success-bg: #1d3a1d;
  --dc-warning: #f2c661;
  --dc-warning-bg: #3d3216;
  --dc-danger: #ff9a9f;
  --dc-danger-bg: #46191c;
  --dc-neutral-bg: #33363c;
  --dc-skeleton: #33363c;
`;

/**
 * Design tokens. Defaults live on the root element's :host (see dynamics-connector.styles.ts); inner elements only
 * read them, so a host sets `dynamics-connector { --dc-accent: … }` once and every view follows.
 */
export const tokens = css`
  :host {
    --dc-font-family: inherit;
    --dc-font-size: 0.9375rem;
    --dc-radius: 8px;
    --dc-radius-small: 4px;
    --dc-space: 0.5rem;
    --dc-accent: #0f6cbd;
    --dc-accent-text: #ffffff;
    --dc-bg: #ffffff;
    --dc-surface: #f7f8fa;
    --dc-text: #1b1d21;
    --dc-text-muted: #5b6070;
    --dc-border: #d5d8de;
    --dc-focus: #0f6cbd;
    --dc-success: #0e700e;
    --dc-success-bg: #e5f3e5;
    --dc-warning: #8a5300;
    --dc-warning-bg: #fff4ce;
    --dc-danger: #b10e1c;
    --dc-danger-bg: #fde7e9;
    --dc-neutral-bg: #eceef1;
    --dc-skeleton: #e6e8ec;
  }
  @media (prefers-color-scheme: dark) {
    :host(:not([theme="light"])) {
      ${darkTokens}
    }
  }
  :host([theme="dark"]) {
    ${darkTokens}
  }
`;

/** Building blocks every view uses: buttons, fields, chips, banners, skeletons, tables. */
export const shared = css`
  :host {
    display: block;
    box-sizing: border-box;
    color: var(--dc-text);
    font-family: var(--dc-font-family);
    font-size: var(--dc-font-size);
    line-height: 1.45;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  h2,
  h3,
  h4 {
    margin: 0;
    line-height: 1.25;
  }
  h2 {
    font-size: 1.25em;
  }
  h3 {
    font-size: 1.0625em;
  }
  p {
    margin: 0;
  }
  a {
    color: var(--dc-accent);
  }
  .muted {
    color: var(--dc-text-muted);
  }
  .small {
    font-size: 0.875em;
  }
  .mono {
    font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
    font-size: 0.875em;
    word-break: break-all;
  }
  .row {
    display: flex;
    flex-wrap: wrap;
    gap: var(--dc-space);
    align-items: center;
  }
  .stack {
    display: grid;
    gap: calc(var(--dc-space) * 2);
  }
  .spacer {
    flex: 1 1 auto;
  }
  .visually-hidden {
    position: absolute !important;
    width: 1px;
    height: 1px;
    padding: 0;
    margin: -1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }

  button,
  .button {
    font: inherit;
    font-size: 0.9375em;
    cursor: pointer;
    border-radius: var(--dc-radius-small);
    border: 1px solid var(--dc-border);
    background: var(--dc-bg);
    color: var(--dc-text);
    padding: 0.375em 0.875em;
    min-height: 2.25em;
    display: inline-flex;
    align-items: center;
    gap: 0.375em;
    text-decoration: none;
    white-space: nowrap;
  }
  button:hover:not(:disabled) {
    background: var(--dc-surface);
  }
  button.primary {
    background: var(--dc-accent);
    color: var(--dc-accent-text);
    border-color: var(--dc-accent);
  }
  button.primary:hover:not(:disabled) {
    filter: brightness(1.08);
    background: var(--dc-accent);
  }
  button.danger {
    color: var(--dc-danger);
    border-color: currentColor;
  }
  button.link {
    border: none;
    background: none;
    color: var(--dc-accent);
    padding: 0;
    min-height: 0;
    text-decoration: underline;
  }
  button:disabled {
    opacity: 0.55;
    cursor: not-allowed;
  }
  :focus-visible {
    outline: 2px solid var(--dc-focus);
    outline-offset: 2px;
  }

  label {
    font-weight: 600;
    font-size: 0.9375em;
  }
  input[type="text"],
  input[type="url"],
  input[type="search"],
  input:not([type]),
  select {
    font: inherit;
    color: var(--dc-text);
    background: var(--dc-bg);
    border: 1px solid var(--dc-border);
    border-radius: var(--dc-radius-small);
    padding: 0.4em 0.6em;
    width: 100%;
    min-height: 2.25em;
  }
  input[aria-invalid="true"] {
    border-color: var(--dc-danger);
  }
  .field {
    display: grid;
    gap: 0.25em;
  }
  .field-error {
    color: var(--dc-danger);
    font-size: 0.875em;
  }
  .field-note {
    color: var(--dc-text-muted);
    font-size: 0.875em;
  }

  .card {
    background: var(--dc-bg);
    border: 1px solid var(--dc-border);
    border-radius: var(--dc-radius);
    padding: calc(var(--dc-space) * 2);
  }

  .chip {
    display: inline-flex;
    align-items: center;
    gap: 0.3em;
    border-radius: 999px;
    padding: 0.05em 0.65em;
    font-size: 0.8125em;
    font-weight: 600;
    background: var(--dc-neutral-bg);
    color: var(--dc-text);
    white-space: nowrap;
  }
  .chip.success {
    background: var(--dc-success-bg);
    color: var(--dc-success);
  }
  .chip.warning {
    background: var(--dc-warning-bg);
    color: var(--dc-warning);
  }
  .chip.danger {
    background: var(--dc-danger-bg);
    color: var(--dc-danger);
  }
  .chip.info {
    background: var(--dc-neutral-bg);
    color: var(--dc-accent);
  }

  .banner {
    border-radius: var(--dc-radius);
    padding: var(--dc-space) calc(var(--dc-space) * 1.5);
    border: 1px solid var(--dc-border);
    display: grid;
    gap: 0.35em;
  }
  .banner.error {
    background: var(--dc-danger-bg);
    border-color: var(--dc-danger);
  }
  .banner.warning {
    background: var(--dc-warning-bg);
    border-color: var(--dc-warning);
  }
  .banner.info {
    background: var(--dc-surface);
  }
  .banner details summary {
    cursor: pointer;
    font-size: 0.875em;
    color: var(--dc-text-muted);
  }

  .skeleton {
    display: block;
    height: 1em;
    border-radius: var(--dc-radius-small);
    background: var(--dc-skeleton);
    animation: dc-pulse 1.4s ease-in-out infinite;
  }
  @keyframes dc-pulse {
    50% {
      opacity: 0.55;
    }
  }
  @media (prefers-reduced-motion: reduce) {
    .skeleton {
      animation: none;
    }
  }

  .table-wrap {
    overflow-x: auto;
    border: 1px solid var(--dc-border);
    border-radius: var(--dc-radius);
  }
  table {
    border-collapse: collapse;
    width: 100%;
    background: var(--dc-bg);
  }
  th,
  td {
    text-align: left;
    padding: 0.5em 0.75em;
    border-bottom: 1px solid var(--dc-border);
    vertical-align: top;
  }
  th {
    font-size: 0.8125em;
    color: var(--dc-text-muted);
    font-weight: 600;
    background: var(--dc-surface);
    white-space: nowrap;
  }
  tr:last-child td {
    border-bottom: none;
  }
  td.num,
  th.num {
    text-align: right;
    font-variant-numeric: tabular-nums;
  }

  progress {
    width: 100%;
    height: 0.6em;
    accent-color: var(--dc-accent);
  }
`;
