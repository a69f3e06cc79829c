/** A line chart drawn as SVG: the series, a threshold line, and annotation markers. */

export type Point = { t: number; v: number };

interface ChartProps {
  /** What the chart shows, for screen readers. */
  label: string;
  points: readonly Point[];
  max: number;
  threshold: number | undefined;
  marks: readonly { t: number; text: string }[];
  width?: number;
  height?: number;
}

export function Chart({ label, points, max, threshold, marks, width = 420, height = 120 }: ChartProps) {
  const first = points[0]?.t ?? 0;
  const span = Math.max(1, (points.at(-1)?.t ?? 1) - first);
  const x = (t: number) => ((t - first) / span) * width;
  const y = (v: number) => height - (Math.min(v, max) / max) * height;
  return (
    <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={label}>
      <rect width={width} height={height} className="plot" />
      {marks
        .filter((mark) => mark.t >= first)
        .map((mark) => (
          <line
            key={`${mark.t}-${mark.text}`}
            className="mark"
            x1={x(mark.t)}
            x2={x(mark.t)}
            y1={0}
            y2={height}
          >
            <title>{mark.text}</title>
          </line>
        ))}
      {threshold !== undefined && (
        <line className="threshold" x1={0} x2={width} y1={y(threshold)} y2={y(threshold)} />
      )}
      <polyline
        className="series"
        points={points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ')}
      />
    </svg>
  );
}
