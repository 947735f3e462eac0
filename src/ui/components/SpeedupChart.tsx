import { useEffect, useId, useRef, useState } from 'react';
import { formatDuration, formatTokensShort } from '../format.ts';
import { configKey, configLabel, type SpeedupConfig, type SpeedupRow } from '../speedup.ts';

interface Props {
  configs: SpeedupConfig[];
  lengths: number[];
  rows: SpeedupRow[];
}

const margin = { left: 64, right: 20, top: 16, bottom: 46 };

/** Phase-1 time against context length, one line per configuration; the table beside it has the numbers. */
export function SpeedupChart({ configs, lengths, rows }: Props) {
  const id = useId();
  // Drawn at the frame's real width, so labels stay at their CSS size on a phone and on a wide screen.
  const frame = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(640);
  useEffect(() => {
    const el = frame.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => setWidth(Math.max(280, Math.round(entry.contentRect.width))));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const height = Math.round(Math.min(320, Math.max(220, width * 0.5)));
  const sorted = [...lengths].sort((a, b) => a - b);
  const maxMs = Math.max(1, ...rows.map((r) => r.stats.encodeMs));
  const step = niceStep(maxMs / 4);
  const top = Math.ceil(maxMs / step) * step;
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step);
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const x = (i: number) => margin.left + (sorted.length === 1 ? plotW / 2 : (i * plotW) / (sorted.length - 1));
  const y = (ms: number) => margin.top + plotH - (ms / top) * plotH;

  return (
    <figure className="chart" data-testid="speedup-chart">
      <div className="chart-frame" ref={frame}>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={`${id}-title ${id}-desc`}>
        <title id={`${id}-title`}>Phase-1 time by context length</title>
        <desc id={`${id}-desc`}>
          Lines for {configs.map(configLabel).join(', ')}; lower is faster. The table below gives the same numbers.
        </desc>
        {ticks.map((t) => (
          <g key={t} className="chart-grid">
            <line x1={margin.left} x2={width - margin.right} y1={y(t)} y2={y(t)} />
            <text x={margin.left - 8} y={y(t)} dy="0.32em" textAnchor="end">
              {t === 0 ? '0' : formatDuration(t)}
            </text>
          </g>
        ))}
        {sorted.map((length, i) => (
          <text key={length} className="chart-axis" x={x(i)} y={height - margin.bottom + 18} textAnchor="middle">
            {formatTokensShort(length)}
          </text>
        ))}
        <text className="chart-axis-title" x={margin.left + plotW / 2} y={height - 6} textAnchor="middle">
          context length (tokens)
        </text>
        {configs.map((config, c) => {
          const points = sorted
            .map((length, i) => {
              const row = rows.find((r) => r.length === length && configKey(r.config) === configKey(config));
              return row ? { x: x(i), y: y(row.stats.encodeMs), row } : undefined;
            })
            .filter((p) => p !== undefined);
          return (
            <g key={configKey(config)} className={`chart-series series-${c}`}>
              <polyline points={points.map((p) => `${p.x},${p.y}`).join(' ')} />
              {points.map((p) => (
                <circle key={p.row.length} cx={p.x} cy={p.y} r={4}>
                  <title>
                    {configLabel(config)}, {formatTokensShort(p.row.length)} tokens: {formatDuration(p.row.stats.encodeMs)}
                  </title>
                </circle>
              ))}
            </g>
          );
        })}
      </svg>
      </div>
      <figcaption>
        <ul className="legend">
          {configs.map((config, c) => (
            <li key={configKey(config)} className={`series-${c}`}>
              <span className="swatch" aria-hidden="true" /> {configLabel(config)}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
}
