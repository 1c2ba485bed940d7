import type { Html } from '../web/html.js';
import { html } from '../web/html.js';

/**
 * Small horizontal bar charts as inline SVG, drawn on the server: no chart library and no
 * script. Each chart is an image with a title and a table beside it saying the same in text,
 * for screen readers and for anyone who wants the numbers.
 */

export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Drawn in the error colour. */
  readonly error?: boolean;
}

const WIDTH = 240;
const ROW = 24;
const LABEL = 80;

export function barChart(id: string, title: string, bars: readonly Bar[], unit: string): Html {
  if (bars.length === 0) {
    return html`<figure class="chart card">
      <figcaption><strong>${title}</strong></figcaption>
      <p class="muted">Nothing recorded.</p>
    </figure>`;
  }
  const max = Math.max(1, ...bars.map((b) => b.value));
  const height = bars.length * ROW + 4;
  const rows = bars.map((bar, i) => {
    const width = Math.round(((WIDTH - LABEL - 40) * bar.value) / max);
    const y = i * ROW + 2;
    const label = bar.label.length > 13 ? `${bar.label.slice(0, 12)}…` : bar.label;
    return html`<text x="0" y="${y + 14}">${label}</text
      ><rect
        class="bar${bar.error ? ' error' : ''}"
        x="${LABEL}"
        y="${y + 3}"
        width="${Math.max(width, bar.value > 0 ? 1 : 0)}"
        height="${ROW - 8}"
      ></rect
      ><text x="${LABEL + width + 4}" y="${y + 14}">${bar.value}</text>`;
  });
  return html`<figure class="chart card">
    <figcaption id="${id}-title"><strong>${title}</strong></figcaption>
    <svg viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="${id}-title" focusable="false">
      ${rows}
    </svg>
    <table class="chart-data">
      <caption class="visually-hidden">
        ${title}
      </caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">${unit}</th>
        </tr>
      </thead>
      <tbody>
        ${bars.map(
          (b) =>
            html`<tr>
              <td>${b.label}</td>
              <td>${b.value}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </figure>`;
}
