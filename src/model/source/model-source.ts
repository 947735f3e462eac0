// A model's location, as a user names it, to the WeightSource that reads its files.
import { fileWeightSource, urlWeightSource, type UrlSourceOptions, type WeightSource } from './weight-source.ts';
import { directoryWeightSource } from '#directory-source';

/** Where a model's Hub-layout files come from. */
export type ModelLocation =
  | { kind: 'url'; base: string } // e.g. https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct/resolve/main/
  | { kind: 'files'; files: ReadonlyMap<string, File> } // a local folder (picker or drag and drop)
  | { kind: 'directory'; path: string }; // Node only

export function openWeightSource(location: ModelLocation, options: Pick<UrlSourceOptions, 'onDownload' | 'signal'> = {}): WeightSource {
  switch (location.kind) {
    case 'url':
      return urlWeightSource(location.base, options);
    case 'files':
      return fileWeightSource(location.files);
    case 'directory':
      return directoryWeightSource(location.path);
  }
}
