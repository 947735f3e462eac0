// A model's source, as a user names it (a URL, picked files, a folder on disk), opened to the
// ModelFiles that read it. The descriptor is plain data, so it crosses to a host Worker as it is.
import { openFileSource } from './file-source.ts';
import { openUrlSource, type UrlSourceOptions } from './url-source.ts';
import type { ModelFiles } from './model-files.ts';
import { openDirectorySource } from '#directory-source';

/** Where a model's Hub-layout files come from. */
export type ModelSource =
  | { kind: 'url'; base: string } // e.g. https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct/resolve/main/
  | { kind: 'files'; files: ReadonlyMap<string, File> } // a local folder (picker or drag and drop)
  | { kind: 'directory'; path: string }; // Node only

export function openModelSource(source: ModelSource, options: Pick<UrlSourceOptions, 'onDownload' | 'signal'> = {}): ModelFiles {
  switch (source.kind) {
    case 'url':
      return openUrlSource(source.base, options);
    case 'files':
      return openFileSource(source.files);
    case 'directory':
      return openDirectorySource(source.path);
  }
}
