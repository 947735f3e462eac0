// Mounts the library's <StarReader> the way an embedding page would, from src/ui/lib.ts only.
import { createRoot } from 'react-dom/client';
import { StarReader, type ReaderFactory } from '../src/ui/lib.ts';

const params = new URLSearchParams(location.search);
const model = params.get('model') ?? new URL('models/demo/', new URL('/', location.href)).href;
const document_ =
  params.get('document') ??
  'Star Reader reads long documents in the browser. It runs open language models on the GPU through WebGPU. ' +
    'Star Attention splits the document into blocks, each read with an anchor block, so long documents cost less.';

let createReader: ReaderFactory | undefined;
if (params.get('engine') === 'stand-in') {
  // A DEVELOPMENT STAND-IN (no model runs), for UI tests of the component's flow.
  createReader = (await import('./harness/dev-stand-in-reader.ts')).createDevStandInReader;
}

createRoot(document.getElementById('reader')!).render(
  <StarReader model={model} document={{ name: 'About Star Reader', kind: 'txt', text: document_ }} createReader={createReader} />,
);
