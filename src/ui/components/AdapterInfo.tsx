import { formatBytes, formatCount } from '../format.ts';
import type { AdapterStatus } from '../adapter.ts';

const keyLimits: Array<[name: string, label: string, bytes: boolean]> = [
  ['maxBufferSize', 'Max buffer', true],
  ['maxStorageBufferBindingSize', 'Max storage binding', true],
  ['maxComputeWorkgroupStorageSize', 'Workgroup memory', true],
  ['maxComputeInvocationsPerWorkgroup', 'Invocations per workgroup', false],
  ['maxStorageBuffersPerShaderStage', 'Storage buffers per stage', false],
];

/** The header's GPU line: the adapter with its details on demand, or a short "no WebGPU". */
export function AdapterInfo({ status }: { status: AdapterStatus }) {
  if (status.status === 'probing') {
    return (
      <p className="adapter probing" data-testid="adapter" aria-live="polite">
        Looking for a GPU…
      </p>
    );
  }
  if (status.status === 'missing') {
    return (
      <p className="adapter missing" data-testid="adapter">
        <span className="dot bad" aria-hidden="true" /> No WebGPU
      </p>
    );
  }
  const { adapter } = status;
  return (
    <details className="adapter found" data-testid="adapter">
      <summary>
        <span className="dot good" aria-hidden="true" />
        <span className="adapter-name" data-testid="adapter-name">
          {adapter.description}
        </span>
        {adapter.isFallbackAdapter && <span className="badge">software</span>}
      </summary>
      <div className="adapter-details" data-testid="adapter-details">
        <dl className="facts">
          {keyLimits.map(([name, label, bytes]) =>
            adapter.limits[name] === undefined ? null : (
              <div key={name}>
                <dt>{label}</dt>
                <dd>{bytes ? formatBytes(adapter.limits[name]) : formatCount(adapter.limits[name])}</dd>
              </div>
            ),
          )}
        </dl>
        <p className="features-label">Features</p>
        <ul className="chips" aria-label="GPU features" data-testid="adapter-features">
          {adapter.features.length === 0 && <li className="chip muted">none</li>}
          {adapter.features.map((f) => (
            <li key={f} className="chip">
              {f}
            </li>
          ))}
        </ul>
        {!adapter.features.includes('shader-f16') && (
          <p className="hint">No shader-f16: weights run as f32 (twice the GPU memory of f16).</p>
        )}
      </div>
    </details>
  );
}
