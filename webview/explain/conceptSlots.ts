// The places the concept views will fill once SAEs exist (the SAE issue): a bar chart of the concepts that make up
// the explained logit, and the traces (where in the image each concept sits). Until then they say what is needed
// and show no data. To fill them: add the concept payload to `explainViewSchema` (webview/shared/protocol.ts),
// set `.concepts` from main.ts, and render it here; the panel layout, titles and ids stay.
import { LitElement, css, html, type TemplateResult } from 'lit';
import { customElement, property } from 'lit/decorators.js';

const slotStyles = css`
  :host { display: block; margin-top: 1.2em; }
  h2 { font-size: 1.1em; font-weight: 600; margin: 0 0 0.4em; border-bottom: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); padding-bottom: 0.2em; }
  .empty { border: 1px dashed var(--vscode-widget-border, var(--vscode-descriptionForeground)); border-radius: 2px; padding: 10px 12px;
    color: var(--vscode-descriptionForeground); }
`;

/** Why a slot is empty: no SAE chosen for the model yet (the only state before the SAE issue lands). */
export type ConceptSlotState = 'no-sae';

@customElement('fact-concept-bars')
export class FactConceptBars extends LitElement {
  static override styles = slotStyles;
  @property() state: ConceptSlotState = 'no-sae';
  @property({ attribute: false }) explainedClass = '';

  override render(): TemplateResult {
    return html`<section aria-labelledby="h" data-slot="concept-bars">
      <h2 id="h">Concept contributions</h2>
      <p class="empty">Which concepts make up the ${this.explainedClass ? html`<strong>${this.explainedClass}</strong>` : 'explained'} logit, each with its exact
        share, appears here once this model has a sparse autoencoder (SAE) for one of its layers. Collect the layer's
        features first (FaCT: Collect Features); SAE training comes next.</p>
    </section>`;
  }
}

@customElement('fact-concept-traces')
export class FactConceptTraces extends LitElement {
  static override styles = slotStyles;
  @property() state: ConceptSlotState = 'no-sae';

  override render(): TemplateResult {
    return html`<section aria-labelledby="h" data-slot="concept-traces">
      <h2 id="h">Concept traces</h2>
      <p class="empty">Where each concept sits in this image, traced exactly to its pixels, appears here with the
        concept contributions.</p>
    </section>`;
  }
}
