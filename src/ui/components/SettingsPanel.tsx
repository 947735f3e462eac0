import { useId, useState, type ReactNode } from 'react';
import { maxHosts, type Settings } from '../settings.ts';

interface Props {
  settings: Settings;
  onChange: (settings: Settings) => void;
  /** Set when the loaded model runs with other engine settings than these. */
  onApplyEngine?: () => void;
}

/** Engine settings (attention, block size, hosts) take effect on model load; the rest on the next question. */
export function SettingsPanel({ settings, onChange, onApplyEngine }: Props) {
  const ids = useId();
  const set = <K extends keyof Settings>(key: K, value: Settings[K]) => onChange({ ...settings, [key]: value });
  const [customBlock, setCustomBlock] = useState(settings.blockSize ?? 2048);

  return (
    <section className="panel settings" aria-labelledby={`${ids}-title`} data-testid="settings-panel">
      <h2 id={`${ids}-title`} className="panel-title">
        Settings
      </h2>

      <fieldset className="group">
        <legend>Engine</legend>
        <div className="field">
          <span className="field-label" id={`${ids}-attention`}>
            Attention
          </span>
          <div className="segmented" role="radiogroup" aria-labelledby={`${ids}-attention`}>
            {(['star', 'full'] as const).map((mode) => (
              <label key={mode} className={settings.attention === mode ? 'on' : ''}>
                <input
                  type="radio"
                  name={`${ids}-attention`}
                  value={mode}
                  checked={settings.attention === mode}
                  onChange={() => set('attention', mode)}
                />
                {mode === 'star' ? 'Star' : 'Full'}
              </label>
            ))}
          </div>
        </div>
        <div className="field">
          <span className="field-label" id={`${ids}-block`}>
            Block size
          </span>
          <div className="segmented" role="radiogroup" aria-labelledby={`${ids}-block`}>
            <label className={settings.blockSize === undefined ? 'on' : ''}>
              <input
                type="radio"
                name={`${ids}-block`}
                checked={settings.blockSize === undefined}
                onChange={() => set('blockSize', undefined)}
              />
              Auto
            </label>
            <label className={settings.blockSize !== undefined ? 'on' : ''}>
              <input
                type="radio"
                name={`${ids}-block`}
                checked={settings.blockSize !== undefined}
                onChange={() => set('blockSize', customBlock)}
              />
              Fixed
            </label>
          </div>
          <NumberField
            label="Block size in tokens"
            hideLabel
            value={settings.blockSize ?? customBlock}
            min={16}
            max={131072}
            step={256}
            disabled={settings.blockSize === undefined}
            onChange={(v) => {
              setCustomBlock(v);
              set('blockSize', v);
            }}
          />
        </div>
        <NumberField label="Hosts" value={settings.hosts} min={1} max={maxHosts} step={1} onChange={(v) => set('hosts', v)}>
          Workers with a GPU device each; their KV shards merge exactly.
        </NumberField>
        <NumberField
          label="GPU memory budget (GB)"
          value={settings.memoryBudgetGb}
          min={0.001}
          max={1024}
          step={0.5}
          placeholder="not set"
          onChange={(v) => set('memoryBudgetGb', v)}
          onClear={() => set('memoryBudgetGb', undefined)}
        >
          WebGPU does not say how much memory a GPU has. With a budget, a model or document that would not fit is refused
          before loading, with the numbers.
        </NumberField>
        <p className="hint">Engine settings apply when a model loads.</p>
        {onApplyEngine && (
          <button type="button" className="button small primary" onClick={onApplyEngine} data-testid="apply-engine">
            Reload the model with these settings
          </button>
        )}
      </fieldset>

      <fieldset className="group">
        <legend>Sampling</legend>
        <NumberField label="Temperature" value={settings.temperature} min={0} max={2} step={0.05} onChange={(v) => set('temperature', v)}>
          0 picks the likeliest token every time.
        </NumberField>
        <div className="field-grid">
          <NumberField label="Top-k" value={settings.topK} min={0} max={1000} step={1} onChange={(v) => set('topK', v)} />
          <NumberField label="Top-p" value={settings.topP} min={0} max={1} step={0.01} onChange={(v) => set('topP', v)} />
          <NumberField
            label="Repetition penalty"
            value={settings.repetitionPenalty}
            min={1}
            max={2}
            step={0.01}
            onChange={(v) => set('repetitionPenalty', v)}
          />
          <NumberField
            label="Seed"
            value={settings.seed}
            min={0}
            max={2 ** 32 - 1}
            step={1}
            placeholder="random"
            onChange={(v) => set('seed', v)}
            onClear={() => set('seed', undefined)}
          />
        </div>
        <NumberField label="Max tokens" value={settings.maxTokens} min={1} max={8192} step={1} onChange={(v) => set('maxTokens', v)}>
          Longest answer, in tokens.
        </NumberField>
      </fieldset>
    </section>
  );
}

interface NumberFieldProps {
  label: string;
  value: number | undefined;
  min: number;
  max: number;
  step: number;
  onChange: (value: number) => void;
  /** For optional numbers: called when the field is emptied. */
  onClear?: () => void;
  hideLabel?: boolean;
  disabled?: boolean;
  placeholder?: string;
  children?: ReactNode;
}

/** A number input that keeps what the user types and reports only valid, clamped numbers. */
function NumberField({ label, value, min, max, step, onChange, onClear, hideLabel, disabled, placeholder, children }: NumberFieldProps) {
  const id = useId();
  const [draft, setDraft] = useState<string>();
  const shown = draft ?? (value === undefined ? '' : String(value));
  const commit = (text: string) => {
    const n = Number(text);
    if (text.trim() === '') onClear?.();
    if (text.trim() === '' || !Number.isFinite(n)) return;
    onChange(Math.min(max, Math.max(min, step >= 1 ? Math.round(n) : n)));
  };
  return (
    <div className="field">
      <label htmlFor={id} className={hideLabel ? 'visually-hidden' : 'field-label'}>
        {label}
      </label>
      <input
        id={id}
        className="input number"
        type="number"
        inputMode={step >= 1 ? 'numeric' : 'decimal'}
        min={min}
        max={max}
        step={step}
        value={shown}
        disabled={disabled}
        placeholder={placeholder}
        aria-describedby={children ? `${id}-hint` : undefined}
        onChange={(e) => {
          setDraft(e.target.value);
          commit(e.target.value);
        }}
        onBlur={() => setDraft(undefined)}
      />
      {children && (
        <p id={`${id}-hint`} className="hint">
          {children}
        </p>
      )}
    </div>
  );
}
