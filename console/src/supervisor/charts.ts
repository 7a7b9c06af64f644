import * as Plot from "@observablehq/plot";

/**
 * The supervisor board's charts, drawn with Observable Plot (SVG: each bar carries its own
 * accessible label and title; the page loads this module, and Plot with it, only when a manager
 * opens the board). Each function returns the chart's SVG element, labelled for screen readers.
 */

export interface Bar {
  label: string;
  value: number;
}

/** Horizontal bars, one per label, longest first as given. */
export function barChart(bars: readonly Bar[], opts: { label: string; width: number; color?: string }): SVGSVGElement | HTMLElement {
  return Plot.plot({
    ariaLabel: opts.label,
    ariaDescription: bars.map((b) => `${b.label}: ${b.value}`).join("; "),
    width: Math.max(280, opts.width),
    height: 40 + 28 * Math.max(1, bars.length),
    marginLeft: Math.min(220, 12 + 7 * Math.max(4, ...bars.map((b) => b.label.length))),
    x: { label: null, grid: true, tickFormat: "d" },
    y: { label: null, domain: bars.map((b) => b.label) },
    marks: [
      Plot.barX(bars, { x: "value", y: "label", fill: opts.color ?? "#1f6f43", ariaLabel: (d: Bar) => `${d.label}: ${d.value}`, title: (d: Bar) => `${d.label}: ${d.value}` }),
      // The values as text and the zero line say nothing the bars' labels do not: hidden from screen readers.
      Plot.text(bars, { x: "value", y: "label", text: (d: Bar) => String(d.value), dx: 12, fill: "currentColor", ariaHidden: "true" }),
      Plot.ruleX([0], { ariaHidden: "true" }),
    ],
  });
}
