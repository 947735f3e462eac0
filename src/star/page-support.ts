// What a page needs before (or without) the engine, light enough for the app's first chunk: the GPU
// probe, the models this browser keeps, and picked files keyed by path. The engine (reader.ts) is
// loaded on demand.
export { listCachedModels, clearCachedModel, type CachedModel } from '../model/source/cached-models.ts';
export { filesByRelativePath } from '../model/source/file-source.ts';
export { requestDevice, type AdapterReport } from '../gpu/device.ts';
