import { useEffect, useId, useRef } from "react";

/** A chart drawn by the lazily loaded chart module, with its numbers as a table for whoever prefers them. */
export function Chart({ title, bars, color }: { title: string; bars: Array<{ label: string; value: number }>; color?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const key = JSON.stringify(bars);
  useEffect(() => {
    let live = true;
    if (bars.length === 0) {
      ref.current?.replaceChildren();
      return;
    }
    void import("./charts").then(({ barChart }) => {
      if (!live || !ref.current) return;
      ref.current.replaceChildren(barChart(bars, { label: title, width: Math.min(640, ref.current.clientWidth || 640), color }));
    });
    return () => {
      live = false;
    };
  }, [key]);
  const id = useId();
  return (
    <figure className="chart" aria-labelledby={id}>
      <figcaption id={id}>{title}</figcaption>
      {bars.length === 0 ? <p className="hint">Nothing yet today.</p> : <div ref={ref} />}
      {bars.length > 0 && (
        <details>
          <summary>The numbers</summary>
          <table>
            <tbody>
              {bars.map((b) => (
                <tr key={b.label}>
                  <th scope="row">{b.label}</th>
                  <td>{b.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </figure>
  );
}
