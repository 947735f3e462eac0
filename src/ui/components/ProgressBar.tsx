import { formatBytes, formatCount, formatDuration, formatPerSecond, formatRate } from '../format.ts';
import type { RateProgress } from '../progress.ts';

interface Props {
  label: string;
  progress: RateProgress;
  unit: 'bytes' | 'tokens';
  onCancel?: () => void;
  testId?: string;
}

/** A labelled bar with amounts, speed and time left; indeterminate until the total is known. */
export function ProgressBar({ label, progress, unit, onCancel, testId }: Props) {
  const { done, total, perSecond, msLeft, current } = progress;
  const known = total > 0;
  const percent = known ? Math.min(100, (done / total) * 100) : undefined;
  const amount =
    unit === 'bytes'
      ? known
        ? `${formatBytes(done)} of ${formatBytes(total)}`
        : formatBytes(done)
      : known
        ? `${formatCount(done)} of ${formatCount(total)} tokens`
        : `${formatCount(done)} tokens`;
  const speed = perSecond === undefined ? undefined : unit === 'bytes' ? formatRate(perSecond) : formatPerSecond(perSecond, 'tokens');
  const left = msLeft !== undefined ? `${formatDuration(msLeft)} left` : done > 0 ? 'estimating time left' : undefined;
  const text = done === 0 && !known ? 'Starting…' : [amount, speed, left].filter(Boolean).join(' · ');
  return (
    <div className="progress" data-testid={testId}>
      <div className="progress-head">
        <span className="progress-label">{label}</span>
        {percent !== undefined && <span className="progress-percent">{Math.floor(percent)}%</span>}
      </div>
      <div
        className={`progress-track${known ? '' : ' indeterminate'}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent === undefined ? undefined : Math.floor(percent)}
        aria-valuetext={text}
      >
        <div className="progress-fill" style={{ width: percent === undefined ? undefined : `${percent}%` }} />
      </div>
      <div className="progress-foot">
        <span className="progress-text">
          {text}
          {current ? <span className="progress-current"> · {current}</span> : null}
        </span>
        {onCancel && (
          <button type="button" className="button small" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </div>
  );
}
