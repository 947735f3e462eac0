import { useId, useRef, useState } from 'react';
import { describeError, isAbort, type UiError } from '../errors.ts';
import { formatCount, formatDuration, formatTokensShort } from '../format.ts';
import { RateMeter, timeLeft, type RateProgress } from '../progress.ts';
import { promptReserve, type ReaderFactory, type SessionState } from '../session.ts';
import { askOptions, maxHosts, type Settings } from '../settings.ts';
import {
  configKey,
  configLabel,
  lengthChoices,
  runSpeedup,
  speedupConfigs,
  type SpeedupAnswer,
  type SpeedupEvent,
  type SpeedupRow,
} from '../speedup.ts';
import { ErrorNotice } from './ErrorNotice.tsx';
import { ProgressBar } from './ProgressBar.tsx';
import { SpeedupChart } from './SpeedupChart.tsx';

interface Props {
  state: SessionState;
  settings: Settings;
  createReader: ReaderFactory;
  onOpenReader: () => void;
}

const clock = () => performance.now();

interface Activity {
  label: string;
  unit: 'bytes' | 'tokens';
  progress: RateProgress;
}

export function SpeedupPage({ state, settings, createReader, onOpenReader }: Props) {
  const ids = useId();
  const [pickedLengths, setPickedLengths] = useState<ReadonlySet<number>>();
  const [hosts, setHosts] = useState<ReadonlySet<number>>(new Set([1]));
  const [question, setQuestion] = useState('');
  const [warmUp, setWarmUp] = useState(true);
  const [running, setRunning] = useState<AbortController>();
  const [activity, setActivity] = useState<Activity>();
  const [rows, setRows] = useState<SpeedupRow[]>([]);
  const [answers, setAnswers] = useState<Record<string, SpeedupAnswer>>({});
  const [error, setError] = useState<UiError>();
  const [notice, setNotice] = useState<string>();
  const [ran, setRan] = useState<{ lengths: number[]; hosts: number[]; blockSize?: number }>();
  const meter = useRef(new RateMeter());

  const { source: choice, model, document: doc, tokens } = state;
  const ready = !!choice && !!model && !!doc && tokens.status === 'counted';
  const limit =
    ready && tokens.status === 'counted'
      ? Math.min(tokens.total, model.contextWindow - settings.maxTokens - promptReserve)
      : 0;
  const choices = lengthChoices(limit);
  const lengths = pickedLengths ? choices.filter((n) => pickedLengths.has(n)) : choices.slice(-4);
  const hostList = [...hosts].sort((a, b) => a - b);

  const toggle = <T,>(set: ReadonlySet<T>, value: T): Set<T> => {
    const next = new Set(set);
    if (next.has(value)) next.delete(value);
    else next.add(value);
    return next;
  };

  const onEvent = (event: SpeedupEvent) => {
    switch (event.type) {
      case 'loading': {
        const p = event.progress;
        if (!p) meter.current = new RateMeter();
        setActivity({
          label: `Loading the model for ${configLabel(event.config)}`,
          unit: 'bytes',
          progress: p ? { ...meter.current.sample(p.bytesDone, p.bytesTotal, clock()), current: p.current } : { done: 0, total: 0 },
        });
        break;
      }
      case 'encoding': {
        const p = event.progress;
        const perSecond = p.elapsedMs > 0 ? (p.tokensDone * 1000) / p.elapsedMs : undefined;
        setActivity({
          label: `${configLabel(event.config)}: ${event.warmUp ? 'warm-up' : 'reading'} ${formatTokensShort(event.length)} tokens`,
          unit: 'tokens',
          progress: { done: p.tokensDone, total: p.tokensTotal, perSecond, msLeft: timeLeft(p.tokensDone, p.tokensTotal, perSecond) },
        });
        break;
      }
      case 'row':
        setRows((r) => [...r, event.row]);
        break;
      case 'answer':
        setActivity({ label: `${configLabel(event.answer.config)}: answering`, unit: 'tokens', progress: { done: 0, total: 0 } });
        setAnswers((a) => ({ ...a, [configKey(event.answer.config)]: event.answer }));
        break;
    }
  };

  const run = async () => {
    if (!ready || !choice || !doc || lengths.length === 0 || hostList.length === 0) return;
    const controller = new AbortController();
    setRunning(controller);
    setRows([]);
    setAnswers({});
    setError(undefined);
    setNotice(undefined);
    setRan({ lengths, hosts: hostList, blockSize: settings.blockSize });
    const ask = askOptions(settings);
    try {
      await runSpeedup(
        createReader,
        choice.source,
        doc.text,
        {
          lengths,
          hosts: hostList,
          blockSize: settings.blockSize,
          warmUp,
          question: question.trim() || undefined,
          maxTokens: ask.maxTokens ?? settings.maxTokens,
          sampling: ask.sampling ?? {},
        },
        controller.signal,
        onEvent,
      );
      setNotice('Done.');
    } catch (e) {
      if (isAbort(e) || controller.signal.aborted) setNotice('Cancelled: the rows measured so far are kept.');
      else setError(describeError(e, 'document'));
    } finally {
      setRunning(undefined);
      setActivity(undefined);
    }
  };

  const configs = ran ? speedupConfigs(ran.hosts, ran.blockSize) : [];
  const shownLengths = ran?.lengths ?? [];
  const rowFor = (length: number, key: string) => rows.find((r) => r.length === length && configKey(r.config) === key);

  return (
    <div className="speedup" data-testid="speedup-page">
      <section className="panel" aria-labelledby={`${ids}-title`}>
        <h2 id={`${ids}-title`} className="panel-title">
          Speedup: star vs full attention
        </h2>
        <p className="lead">
          Reads the same document prefixes with full attention and with Star Attention, and times phase 1 (reading the
          document). Star attention splits the context into blocks that each see only an anchor and themselves, so its work
          grows about linearly with the context instead of quadratically.
        </p>

        {!ready ? (
          <div className="notice info" data-testid="speedup-needs">
            <p>
              {!choice || !model
                ? 'Load a model and add a document on the Reader tab first.'
                : !doc
                  ? 'Add a document on the Reader tab first.'
                  : 'Counting the document’s tokens…'}
            </p>
            <button type="button" className="button small" onClick={onOpenReader}>
              Go to the Reader
            </button>
          </div>
        ) : (
          <form
            className="speedup-setup"
            onSubmit={(e) => {
              e.preventDefault();
              void run();
            }}
          >
            <p className="setup-summary">
              <strong>{choice.label}</strong> on <strong>{doc.name}</strong> ({formatCount(tokens.status === 'counted' ? tokens.total : 0)}{' '}
              tokens) · block size {settings.blockSize ? formatCount(settings.blockSize) : 'auto'}
            </p>
            <fieldset className="group inline" disabled={!!running}>
              <legend>Context lengths (tokens)</legend>
              <div className="chips">
                {choices.map((n) => (
                  <label key={n} className={`chip toggle${lengths.includes(n) ? ' on' : ''}`}>
                    <input
                      type="checkbox"
                      checked={lengths.includes(n)}
                      onChange={() => setPickedLengths(toggle(new Set(lengths), n))}
                    />
                    {n !== limit
                      ? formatTokensShort(n)
                      : `${formatCount(n)} (${tokens.status === 'counted' && n === tokens.total ? 'whole' : 'max'})`}
                  </label>
                ))}
              </div>
            </fieldset>
            <fieldset className="group inline" disabled={!!running}>
              <legend>Star attention hosts</legend>
              <div className="chips">
                {Array.from({ length: maxHosts }, (_, i) => i + 1).map((h) => (
                  <label key={h} className={`chip toggle${hosts.has(h) ? ' on' : ''}`}>
                    <input type="checkbox" checked={hosts.has(h)} onChange={() => setHosts(toggle(hosts, h))} />
                    {h} {h === 1 ? 'host' : 'hosts'}
                  </label>
                ))}
              </div>
            </fieldset>
            <div className="field">
              <label htmlFor={`${ids}-question`} className="field-label">
                Question to answer both ways (optional)
              </label>
              <input
                id={`${ids}-question`}
                className="input"
                type="text"
                value={question}
                disabled={!!running}
                onChange={(e) => setQuestion(e.target.value)}
                placeholder="Asked at the longest length, with full and with star attention"
              />
            </div>
            <label className="check">
              <input type="checkbox" checked={warmUp} disabled={!!running} onChange={(e) => setWarmUp(e.target.checked)} />
              Warm up first (untimed): shader compilation is not charged to the first row
            </label>
            <div className="row">
              {running ? (
                <button type="button" className="button danger" onClick={() => running.abort()}>
                  Cancel
                </button>
              ) : (
                <button
                  type="submit"
                  className="button primary"
                  disabled={lengths.length === 0 || hostList.length === 0}
                  data-testid="run-speedup"
                >
                  Run {lengths.length * (hostList.length + 1)} measurements
                </button>
              )}
              <span className="hint">Loads one model copy at a time, beside the chat’s.</span>
            </div>
            {activity && <ProgressBar label={activity.label} unit={activity.unit} progress={activity.progress} testId="speedup-progress" />}
            {notice && <p className="notice info small">{notice}</p>}
            {error && <ErrorNotice error={error} onRetry={() => void run()} onDismiss={() => setError(undefined)} />}
          </form>
        )}
      </section>

      {ran && (
        <section className="panel" aria-labelledby={`${ids}-results`} data-testid="speedup-results">
          <h2 id={`${ids}-results`} className="panel-title">
            Results
          </h2>
          <SpeedupChart configs={configs} lengths={shownLengths} rows={rows} />
          <div className="table-wrap">
            <table className="results">
              <caption className="visually-hidden">Phase-1 time per context length and configuration</caption>
              <thead>
                <tr>
                  <th scope="col">Context</th>
                  {configs.map((c) => (
                    <th key={configKey(c)} scope="col">
                      {configLabel(c)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {shownLengths.map((length) => {
                  return (
                    <tr key={length}>
                      <th scope="row">{formatCount(rowFor(length, configKey(configs[0]))?.stats.tokens ?? length)}</th>
                      {configs.map((c) => {
                        const row = rowFor(length, configKey(c));
                        if (!row) return <td key={configKey(c)} className="pending">—</td>;
                        const speedup = c.attention === 'star' ? row.measuredRatio : undefined;
                        return (
                          <td key={configKey(c)}>
                            <span className="time">{formatDuration(row.stats.encodeMs)}</span>
                            {speedup !== undefined && (
                              <span className={`speedup-badge${speedup >= 1 ? ' good' : ''}`} title="Measured: full attention's time over this one's">
                                {speedup.toFixed(2)}×
                              </span>
                            )}
                            <span className="sub">
                              {row.stats.blocks} × {formatCount(row.stats.blockSize)}
                              {c.attention === 'star' && (
                                <>
                                  {' · '}
                                  <span data-testid="flops-ratio" title="Theoretical: full attention's attention FLOPs over this plan's">
                                    theory {row.flopsRatio.toFixed(2)}×
                                  </span>
                                </>
                              )}
                            </span>
                          </td>
                        );
                      })}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <p className="hint" data-testid="speedup-ratios-note">
            Star cells: the badge is the measured speedup over full attention at the same length, in this run; “theory” is how many
            times fewer attention FLOPs star computes, counted from its blocks. On one host the rest of the model, which costs the
            same either way, keeps the measured speedup below it; several hosts can pass it, encoding their blocks at the same time.
          </p>
          {Object.keys(answers).length > 0 && (
            <div className="answers-side" data-testid="speedup-answers">
              {configs.slice(0, 2).map((c) => {
                const a = answers[configKey(c)];
                return (
                  <article key={configKey(c)} className="answer-card">
                    <h3>{configLabel(c)}</h3>
                    <p className="message-text">{a?.text || <span className="hint">{running ? 'Waiting…' : 'No answer.'}</span>}</p>
                    {a?.stats && (
                      <p className="message-stats">
                        Query {formatDuration(a.stats.queryMs)} · {a.stats.decodeTokensPerSecond.toFixed(1)} tokens/s
                      </p>
                    )}
                  </article>
                );
              })}
            </div>
          )}
        </section>
      )}
    </div>
  );
}
