// Styles shared by the panels: VS Code's theme variables only, so light, dark and high-contrast themes all work.
import { css } from 'lit';

export const panelStyles = css`
  :host {
    display: block;
    color: var(--vscode-foreground);
    font-family: var(--vscode-font-family);
    font-size: var(--vscode-font-size);
  }
  h1 {
    font-size: 1.4em;
    font-weight: 600;
    margin: 0.4em 0 0.2em;
  }
  /* A panel's header: its title on the left, its facts on the right. */
  header {
    display: flex;
    flex-wrap: wrap;
    align-items: baseline;
    gap: 4px 16px;
  }
  header h1 {
    margin-right: auto;
  }
  h2 {
    font-size: 1.1em;
    font-weight: 600;
    margin: 1.2em 0 0.4em;
    border-bottom: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent));
    padding-bottom: 0.2em;
  }
  .meta {
    color: var(--vscode-descriptionForeground);
    margin: 0;
  }
  code,
  .mono {
    font-family: var(--vscode-editor-font-family);
    font-size: var(--vscode-editor-font-size);
  }
  table {
    border-collapse: collapse;
    width: 100%;
  }
  th {
    text-align: left;
    font-weight: 600;
    color: var(--vscode-descriptionForeground);
  }
  th,
  td {
    padding: 3px 10px 3px 0;
    border-bottom: 1px solid var(--vscode-widget-border, transparent);
    vertical-align: middle;
  }
  tr:focus-within,
  tr:hover {
    background: var(--vscode-list-hoverBackground);
  }
  :focus-visible {
    outline: 1px solid var(--vscode-focusBorder);
    outline-offset: 1px;
  }
  .error {
    color: var(--vscode-errorForeground);
    border: 1px solid var(--vscode-inputValidation-errorBorder, var(--vscode-errorForeground));
    padding: 8px;
    white-space: pre-wrap;
  }
  .badge-row vscode-badge {
    margin-right: 4px;
  }
  .ops {
    display: flex;
    flex-wrap: wrap;
    gap: 4px 12px;
  }
  .toolbar {
    display: flex;
    flex-wrap: wrap;
    gap: 8px;
    margin: 8px 0;
  }
  .link-button {
    background: none;
    border: none;
    padding: 0;
    color: var(--vscode-textLink-foreground);
    cursor: pointer;
    font: inherit;
  }
  .link-button:hover {
    color: var(--vscode-textLink-activeForeground);
    text-decoration: underline;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;

/** A grid of figure cards (.stats > .stat with .k, its name; .v, the figure; .sub, a note): the concept and
 * consistency panels. Each panel sets its grid's widths. */
export const statCardStyles = css`
  .stats {
    display: grid;
    gap: 8px 16px;
    margin: 10px 0;
  }
  .stat {
    border: 1px solid var(--vscode-widget-border, var(--vscode-panel-border, #8884));
    border-radius: 2px;
    padding: 6px 10px;
  }
  .stat .k {
    color: var(--vscode-descriptionForeground);
    font-size: 0.9em;
  }
  .stat .v {
    font-size: 1.3em;
    font-family: var(--vscode-editor-font-family);
    font-variant-numeric: tabular-nums;
  }
  .stat .sub {
    color: var(--vscode-descriptionForeground);
    font-size: 0.88em;
  }
`;
