import { HostError } from '../star/host-error.ts';
// Turns whatever the engine, the network or the browser threw into what the user reads and can do.

export type ErrorKind =
  | 'network'
  | 'http'
  | 'unsupported'
  | 'too-big'
  | 'lost'
  | 'no-webgpu'
  | 'document'
  | 'other';

export interface UiError {
  kind: ErrorKind;
  /** The step that failed: each panel shows its own step's errors. */
  step: Step;
  title: string;
  /** The original message: it often carries the numbers (bytes, limits, status). */
  message: string;
  /** What to do about it. */
  help: string;
  /** Whether trying the same step again can work. */
  retry: boolean;
}

export type Step = 'model' | 'document' | 'answer' | 'file';

const stepTitle: Record<Step, string> = {
  model: 'The model did not load',
  document: 'The document could not be read',
  answer: 'The answer stopped with an error',
  file: 'This file could not be opened',
};

/** The engine's (and Chromium's) device-loss and worker-crash errors: the GPU state is gone, the page is not. */
export function isDeviceLost(error: unknown): boolean {
  if (error instanceof HostError) return error.kind !== 'failed';
  const { name, message } = parts(error);
  return /DeviceLost|WorkerCrash|HostCrash/i.test(name) || /device (was |is )?lost|worker crashed|host crashed/i.test(message);
}

export function isAbort(error: unknown): boolean {
  return parts(error).name === 'AbortError';
}

export function describeError(error: unknown, step: Step): UiError {
  const { name, message } = parts(error);
  const base = { step, title: stepTitle[step], message };
  if (isDeviceLost(error)) {
    return {
      ...base,
      kind: 'lost',
      title: 'The GPU stopped (device lost)',
      help: 'The model reloads and reads the document again; your document and the chat stay. If it keeps happening, close other GPU-heavy tabs or pick a smaller model.',
      retry: true,
    };
  }
  if (name === 'NoWebGpuError') return { ...base, kind: 'no-webgpu', title: 'No WebGPU', help: '', retry: false };
  if (name === 'DocumentError') return { ...base, kind: 'document', help: 'Try another file, or paste the text instead.', retry: false };
  const status = /\b(?:HTTP|status)\s*(\d{3})\b/i.exec(message)?.[1];
  if (/context window/i.test(message)) {
    return {
      ...base,
      kind: 'too-big',
      title: 'The conversation is full',
      help: 'Clear the chat to start the conversation over (the document stays read), or truncate the document to leave more room.',
      retry: false,
    };
  }
  if (name === 'HttpError' || status) {
    const code = Number(status);
    const help =
      code === 401 || code === 403
        ? 'This repository needs a login or a licence acceptance the browser cannot give: pick an ungated copy, or download the files and open them as a local folder.'
        : code === 404
          ? 'A file is missing: check the repo id, and that the repository has config.json, tokenizer.json and *.safetensors on its main branch.'
          : code === 429
            ? 'The Hub is rate-limiting: wait a minute and retry.'
            : 'The server failed: retry in a moment.';
    return { ...base, kind: 'http', help, retry: code !== 404 };
  }
  if (name === 'TypeError' && /fetch|network|load failed/i.test(message)) {
    return {
      ...base,
      kind: 'network',
      title: 'Network error',
      help: 'Check your connection and retry: the download continues where it stopped (what arrived is kept in this browser). A local model folder works offline.',
      retry: true,
    };
  }
  if (/Unsupported|ModelConfigError|SafetensorsError/i.test(name) || /unsupported|not supported/i.test(message)) {
    return {
      ...base,
      kind: 'unsupported',
      title: 'Unsupported model',
      help: 'Star Reader runs Llama 3.x, Mistral, Qwen2.5, Qwen3 and SmolLM2 models stored as safetensors (f32, f16 or bf16). Pick one of the recommended models.',
      retry: false,
    };
  }
  if (/TooBig|TooLarge|OutOfMemory/i.test(name) || /too (big|large)|out of (gpu )?memory|exceeds|does not fit/i.test(message)) {
    return {
      ...base,
      kind: 'too-big',
      title: step === 'model' ? 'The model is too big for this GPU' : 'Too big for this GPU',
      help:
        step === 'model'
          ? 'Pick a smaller model (the list shows download sizes), or raise the GPU memory budget in Settings if this GPU has more memory.'
          : 'Use a shorter document, raise the GPU memory budget in Settings if this GPU has more memory, or pick a model with a smaller KV cache (fewer layers or key-value heads).',
      retry: false,
    };
  }
  return { ...base, kind: 'other', help: step === 'model' ? 'Retry, or pick another model.' : 'Retry.', retry: true };
}

function parts(error: unknown): { name: string; message: string } {
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
    const e = error as { name?: unknown; message?: unknown };
    return { name: String(e.name ?? 'Error'), message: String(e.message ?? '') };
  }
  return { name: 'Error', message: String(error) };
}
