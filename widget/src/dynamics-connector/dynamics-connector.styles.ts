import { css } from "lit";
import { shared, tokens } from "../styles/shared.styles";

export const styles = [
  tokens,
  shared,
  css`
    :host {
      color-scheme: light dark;
      background: var(--dc-bg);
      border-radius: var(--dc-radius);
      container-type: inline-size;
      min-width: 0;
    }
    :host([theme="light"]) {
      color-scheme: light;
    }
    :host([theme="dark"]) {
      color-scheme: dark;
    }
    :host([hidden]) {
      display: none;
    }
    .shell {
      display: grid;
      gap: calc(var(--dc-space) * 2);
      padding: calc(var(--dc-space) * 2);
    }
    header {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: var(--dc-space) calc(var(--dc-space) * 2);
    }
    .brand {
      display: flex;
      align-items: center;
      gap: 0.5em;
      font-weight: 700;
      font-size: 1.0625em;
      margin: 0;
    }
    .logo {
      width: 1.5em;
      height: 1.5em;
      flex: none;
    }
    .switcher {
      display: flex;
      align-items: center;
      gap: 0.5em;
    }
    .switcher select {
      width: auto;
      max-width: 16rem;
    }
    nav ol {
      list-style: none;
      margin: 0;
      padding: 0;
      display: flex;
      flex-wrap: wrap;
      gap: 0.25em;
      align-items: center;
      font-size: 0.9375em;
    }
    nav li + li::before {
      content: "›";
      margin-right: 0.25em;
      color: var(--dc-text-muted);
    }
    nav [aria-current] {
      font-weight: 600;
    }
    nav [aria-current]:focus {
      outline: none;
    }
    nav [aria-current]:focus-visible {
      outline: 2px solid var(--dc-focus);
    }
    .page-intro {
      display: grid;
      gap: calc(var(--dc-space) * 2);
    }
  `,
];
