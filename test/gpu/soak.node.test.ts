// A long session on the demo model: three documents loaded in turn, questions with follow-ups, answers
// stopped (break, return(), abort) or failed (a host error) and conversations cleared, the same script
// twice (54 questions, about 20 s on lavapipe). Every answer that
// ends by itself must equal the answer of a reference reader that was asked only the questions whose
// answers were kept, in the same order (a clear is a fresh load of the document there): the same text,
// and the same tokens fed to the query host at the same positions with bit-identical logits (the demo
// model's random weights make its text depend little on the context, its logits do not). After a first
// round has warmed the caches, the second must leave GPU buffers alive, uniform buffers and the JS
// heap where they were.
// Node only: the GPU buffers are counted through GPUDevice/GPUBuffer, which needs the hosts in this
// thread (the browser project runs them in Workers), and a forced GC needs V8's flag.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReader } from '../../src/star/reader.ts';
import { openLocalHost } from '../../src/star/local-host.ts';
import type { AnswerStats, Reader } from '../../src/star/reader-api.ts';
import type { HostFactory, HostHandle } from '../../src/star/star-engine.ts';
import { HostError } from '../../src/star/host-error.ts';
import { gpuEntry } from '../../src/gpu/gpu-entry.node.ts';

const demo = { kind: 'directory', path: decodeURIComponent(new URL('../../public/models/demo/', import.meta.url).pathname) } as const;

const documents = [
  'The lighthouse keeper counted ships every night and wrote their names in a blue book. '.repeat(3),
  'Marta grew tomatoes on the roof; the pigeons took one in three, and she let them. '.repeat(3),
  'In 1887 the bridge opened with a brass band, two speeches and a dog that would not cross. '.repeat(3),
];

type Step =
  | { ask: string } // answered in full
  | { stop: string; how: 'break' | 'return' | 'abort' } // left after its first piece
  | { fail: string } // the query host's next feed fails after the first piece
  | { clear: true };

// Nine questions per document, follow-ups after kept answers, after stops, after a failure and after a
// clear.
const script: Step[] = [
  { ask: 'Who is this about?' },
  { ask: 'What happened next?' },
  { stop: 'Tell me everything.', how: 'break' },
  { ask: 'Why?' },
  { stop: 'And the ending?', how: 'abort' },
  { clear: true },
  { ask: 'Who is this about?' },
  { fail: 'Count them.' },
  { stop: 'Summarise it.', how: 'return' },
  { ask: 'Where does it happen?' },
];

const maxTokens = 4;

/** Counts the GPU buffers created and not yet destroyed, on every device, by wrapping the prototypes. */
function countBuffers() {
  gpuEntry(); // installs Dawn's GPUDevice and GPUBuffer globals
  const alive = new Set<GPUBuffer>();
  const uniforms = new Set<GPUBuffer>();
  const create = GPUDevice.prototype.createBuffer;
  const destroy = GPUBuffer.prototype.destroy;
  GPUDevice.prototype.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor) {
    const buffer = create.call(this, descriptor);
    alive.add(buffer);
    if (descriptor.usage & GPUBufferUsage.UNIFORM) uniforms.add(buffer);
    return buffer;
  };
  GPUBuffer.prototype.destroy = function (this: GPUBuffer) {
    alive.delete(this);
    uniforms.delete(this);
    return destroy.call(this);
  };
  return {
    snapshot: () => ({ buffers: alive.size, uniforms: uniforms.size }),
    restore() {
      GPUDevice.prototype.createBuffer = create;
      GPUBuffer.prototype.destroy = destroy;
    },
  };
}

interface Logged {
  reader: Reader;
  /** The query host's steps as "position:ids fed:id chosen", for comparing two readers call by call. */
  log: string[];
  /** Makes the next feed fail (a host error that leaves the host working). */
  failNextFeed(): void;
}

/** In-process hosts whose feeds are logged, and can be made to fail. */
function loggedHosts(): Omit<Logged, 'reader'> & { open: HostFactory } {
  const log: string[] = [];
  let fail = false;
  const open: HostFactory = async (index, request) => {
    const host = await openLocalHost(index, request);
    // The reader feeds through step(): the ids fed, where, and the id the GPU chose after them.
    const step: HostHandle['step'] = async (ids, firstPosition, remote) => {
      if (fail) {
        fail = false;
        throw new HostError(index, 'injected feed failure');
      }
      const chosen = await host.step(ids, firstPosition, remote);
      log.push(`${firstPosition}:${ids.join(',')}:${chosen}`);
      return chosen;
    };
    return new Proxy(host, {
      get: (target, name) => (name === 'step' ? step : (Reflect.get(target, name) as unknown as HostHandle[keyof HostHandle])),
    });
  };
  return { open, log, failNextFeed: () => (fail = true) };
}

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function heapBytes(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

async function answerInFull(
  reader: Reader,
  question: string,
  stream = reader.ask(question, { maxTokens }),
): Promise<{ text: string; stats: AnswerStats }> {
  let text = '';
  for (;;) {
    const next = await stream.next();
    if (next.done) return { text, stats: next.value };
    text += next.value;
  }
}

/** Reads the first piece and leaves; says whether the answer had ended by itself (and so was kept). */
async function stopEarly(reader: Reader, question: string, how: 'break' | 'return' | 'abort'): Promise<{ kept: boolean; text: string }> {
  const controller = new AbortController();
  const stream = reader.ask(question, { maxTokens, signal: controller.signal });
  let text = '';
  if (how === 'break') {
    for await (const piece of stream) {
      text += piece;
      break;
    }
    // A stream that ended before yielding anything finished by itself.
    return { kept: text === '', text };
  }
  const first = await stream.next();
  if (first.done) return { kept: true, text };
  text += first.value;
  if (how === 'return') {
    await stream.return(undefined as never);
    return { kept: false, text };
  }
  controller.abort();
  let rest = await stream.next();
  while (!rest.done) rest = await stream.next();
  return { kept: rest.value.stoppedBy !== 'abort', text };
}

interface RoundReport {
  kept: number;
  stopped: number;
  failed: number;
  cleared: number;
  mismatches: string[];
}

/** One round of the script over every document, on `subject`, checked against `reference`. */
async function round(subject: Logged, reference: Logged): Promise<RoundReport> {
  const reader = subject.reader;
  const report: RoundReport = { kept: 0, stopped: 0, failed: 0, cleared: 0, mismatches: [] };
  for (const [d, document] of documents.entries()) {
    await reader.loadDocument(document);
    await reference.reader.loadDocument(document);
    for (const step of script) {
      if ('clear' in step) {
        await reader.resetConversation();
        await reference.reader.loadDocument(document);
        report.cleared++;
      } else if ('fail' in step) {
        const stream = reader.ask(step.fail, { maxTokens });
        await stream.next();
        subject.failNextFeed();
        await expect(answerInFull(reader, step.fail, stream)).rejects.toThrow('injected feed failure');
        report.failed++;
      } else if ('stop' in step) {
        const stopped = await stopEarly(reader, step.stop, step.how);
        if (stopped.kept) throw new Error(`"${step.stop}" ended before it could be stopped: pick another question`);
        report.stopped++;
      } else {
        subject.log.length = 0;
        reference.log.length = 0;
        const got = await answerInFull(reader, step.ask);
        const want = await answerInFull(reference.reader, step.ask);
        if (got.text !== want.text || subject.log.join(' ') !== reference.log.join(' ')) {
          report.mismatches.push(
            `document ${d}, "${step.ask}": ${JSON.stringify(got.text)} fed ${subject.log.join(' ')}; ` +
              `fresh: ${JSON.stringify(want.text)} fed ${reference.log.join(' ')}`,
          );
        }
        report.kept++;
      }
    }
  }
  return report;
}

describe('soak: documents, questions, stops and clears on the demo model', () => {
  let counter: ReturnType<typeof countBuffers>;
  let subject: Logged;
  let reference: Logged;
  const open = async (): Promise<Logged> => {
    const { open: openHost, ...hosts } = loggedHosts();
    return { reader: await createReader({ model: demo, hosts: 2, blockSize: 64, openHost }), ...hosts };
  };
  beforeAll(async () => {
    counter = countBuffers();
    subject = await open();
    reference = await open();
  });
  afterAll(async () => {
    await subject?.reader.dispose();
    await reference?.reader.dispose();
    counter?.restore();
  });

  it('answers as a fresh reader would, and holds GPU buffers, uniforms and heap flat', async () => {
    const warmUp = await round(subject, reference);
    const start = { ...counter.snapshot(), heap: heapBytes() };
    const measured = await round(subject, reference);
    const end = { ...counter.snapshot(), heap: heapBytes() };
    const total = (key: 'kept' | 'stopped' | 'failed' | 'cleared') => warmUp[key] + measured[key];
    console.log(
      `soak: ${total('kept')} answers kept, ${total('stopped')} stopped, ${total('failed')} failed, ${total('cleared')} clears; ` +
        `start ${JSON.stringify(start)}, end ${JSON.stringify(end)}`,
    );

    expect([...warmUp.mismatches, ...measured.mismatches]).toEqual([]);
    expect(total('kept') + total('stopped') + total('failed')).toBeGreaterThanOrEqual(40);
    // The same script on warm caches: not one more buffer, uniform buffer included.
    expect(end.buffers).toBe(start.buffers);
    expect(end.uniforms).toBe(start.uniforms);
    // Measured over six rounds: the first measured one settles about 0.3 MB (JIT, lazily grown
    // tables), later ones stay within ±0.1 MB; a leak of one logits array per token would be 1.5 MB.
    expect(end.heap - start.heap).toBeLessThan(1 << 20);
  });
});
