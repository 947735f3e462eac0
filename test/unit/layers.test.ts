// The architecture as a test: every import under src/ and workers/ points one way (ui → star → model →
// gpu, with the CLI, the benchmarks, the evaluations and the host worker on top of star), and no two
// modules load each other. Reads the files' import statements; nothing is executed.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = normalize(join(dirname(new URL(import.meta.url).pathname), '../..'));

/** Each folder and the folders it may import from (besides itself). */
const allowedImports: Record<string, readonly string[]> = {
  'src/gpu': [],
  'src/model': ['src/gpu'],
  'src/star': ['src/model', 'src/gpu'],
  // The host worker implements src/star/host-protocol.ts around a Host: it needs nothing below star.
  workers: ['src/star'],
  // The speed benchmark measures the engine, and times single kernels for its report.
  'src/bench': ['src/star', 'src/model', 'src/gpu'],
  'src/eval': ['src/star'],
  // The app and the component see the engine only through src/star (and the speedup demo's benchmark).
  'src/ui': ['src/star', 'src/bench'],
  // The Node CLI is a tool on top of everything; `bench --browser` drives bench/browser's page.
  'src/cli': ['src/eval', 'src/bench', 'src/star', 'src/model', 'src/gpu', 'bench/browser', 'package.json'],
};

const layers = Object.keys(allowedImports);

interface Import {
  from: string;
  to: string;
  /** `import type` / `export type`: erased when compiled, so it cannot make a load-order cycle. */
  typeOnly: boolean;
  /** `import('…')`: loaded on demand, in a chunk of its own. */
  dynamic?: true;
}

const packageImports = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).imports as Record<string, Record<string, string>>;

/** The project files an import specifier names: relative paths, and the package's `#` imports (every variant). */
function resolveSpecifier(file: string, specifier: string): string[] {
  if (specifier.startsWith('.')) return [normalize(join(dirname(file), specifier))];
  if (specifier.startsWith('#')) return Object.values(packageImports[specifier] ?? {}).map((path) => normalize(path));
  return []; // a package: outside the architecture
}

/** The imports of one source text; lines that are comments are skipped. */
function importsOf(file: string, text: string): Import[] {
  const code = text
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
    .join('\n');
  const found: Import[] = [];
  const statement = /\b(import|export)\s+(type\s+)?(?:[\w*{}\s,$]*?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const match of code.matchAll(statement)) {
    const specifier = match[3] ?? match[4];
    const kind = match[4] === undefined ? { typeOnly: match[2] !== undefined } : { typeOnly: false, dynamic: true as const };
    for (const to of resolveSpecifier(file, specifier)) found.push({ from: file, to, ...kind });
  }
  return found;
}

/** The layer a path belongs to (the longest folder of `allowedImports` it lies in), or the path itself outside them. */
function layerOf(path: string): string {
  const folder = layers.filter((layer) => path === layer || path.startsWith(`${layer}/`)).sort((a, b) => b.length - a.length)[0];
  if (folder) return folder;
  return path.startsWith('bench/browser/') ? 'bench/browser' : path;
}

/** Imports that leave their layer for one it may not use. */
function wrongWayImports(imports: readonly Import[]): Import[] {
  return imports.filter(({ from, to }) => {
    const source = layerOf(from);
    const target = layerOf(to);
    return source !== target && !(allowedImports[source] ?? []).includes(target);
  });
}

/** Groups of files that load each other (strongly connected components of the runtime imports). */
function importCycles(imports: readonly Import[]): string[][] {
  const edges = new Map<string, string[]>();
  for (const { from, to, typeOnly } of imports) {
    if (!typeOnly) edges.set(from, [...(edges.get(from) ?? []), to]);
  }
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    for (const to of edges.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (stack.includes(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        group.push(member);
      } while (member !== node);
      if (group.length > 1) cycles.push(group.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

/** Every module `entry` loads before it runs: its static runtime imports, followed. */
function loadedWith(entry: string, imports: readonly Import[]): Set<string> {
  const loaded = new Set([entry]);
  for (const file of loaded) {
    for (const { from, to, typeOnly, dynamic } of imports) if (from === file && !typeOnly && !dynamic) loaded.add(to);
  }
  return loaded;
}

function sourceFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|tsx|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

describe('the import checker', () => {
  it('reads static, type-only, re-export, dynamic and # imports', () => {
    const text = [
      "import { a } from './a.ts';",
      "import type { B } from '../model/b.ts';",
      "export { c } from './c.ts';",
      "export type * from './d.ts';",
      "const e = await import('../gpu/e.ts');",
      "import { parentEndpoint } from '#host-endpoint';",
      "import * as Comlink from 'comlink';",
      "// import { gone } from './commented.ts';",
    ].join('\n');
    expect(importsOf('src/star/x.ts', text)).toEqual([
      { from: 'src/star/x.ts', to: 'src/star/a.ts', typeOnly: false },
      { from: 'src/star/x.ts', to: 'src/model/b.ts', typeOnly: true },
      { from: 'src/star/x.ts', to: 'src/star/c.ts', typeOnly: false },
      { from: 'src/star/x.ts', to: 'src/star/d.ts', typeOnly: true },
      { from: 'src/star/x.ts', to: 'src/gpu/e.ts', typeOnly: false, dynamic: true },
      { from: 'src/star/x.ts', to: 'src/star/host-endpoint.browser.ts', typeOnly: false },
      { from: 'src/star/x.ts', to: 'src/star/host-endpoint.node.ts', typeOnly: false },
    ]);
  });

  it('flags an import against the layers, type-only ones too', () => {
    const imports = [
      ...importsOf('src/star/remote-host.ts', "import type { HostWorkerApi } from '../../workers/host.worker.ts';"),
      ...importsOf('src/ui/files.ts', "import { filesByRelativePath } from '../model/source/file-source.ts';"),
      ...importsOf('src/ui/files.ts', "import { filesByRelativePath } from '../star/page-support.ts';"),
      ...importsOf('src/model/weights.ts', "import { Gpu } from '../gpu/gpu.ts';"),
    ];
    expect(wrongWayImports(imports).map((i) => `${i.from} → ${i.to}`)).toEqual([
      'src/star/remote-host.ts → workers/host.worker.ts',
      'src/ui/files.ts → src/model/source/file-source.ts',
    ]);
  });

  it('finds a cycle of runtime imports and ignores one made of type-only imports', () => {
    const imports: Import[] = [
      { from: 'a.ts', to: 'b.ts', typeOnly: false },
      { from: 'b.ts', to: 'c.ts', typeOnly: false },
      { from: 'c.ts', to: 'a.ts', typeOnly: false },
      { from: 'c.ts', to: 'd.ts', typeOnly: false },
      { from: 'd.ts', to: 'c.ts', typeOnly: true },
    ];
    expect(importCycles(imports)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });
});

describe('the codebase', () => {
  const files = [...sourceFiles('src'), ...sourceFiles('workers')];
  const imports = files.flatMap((file) => importsOf(file, readFileSync(join(root, file), 'utf8')));

  it('has every source file in a layer', () => {
    expect(files.filter((file) => !layers.includes(layerOf(file)))).toEqual([]);
    expect(imports.length).toBeGreaterThan(files.length);
  });

  it('imports only in the direction of the layers', () => {
    expect(wrongWayImports(imports).map((i) => `${i.from} → ${i.to}`)).toEqual([]);
  });

  it('has no modules that load each other', () => {
    expect(importCycles(imports)).toEqual([]);
  });

  it('keeps the engine out of the app\'s first chunk: the UI loads it on demand only', () => {
    for (const entry of ['src/ui/main.tsx', 'src/ui/lib.ts']) {
      const loaded = loadedWith(entry, imports);
      expect(loaded.size).toBeGreaterThan(10);
      expect([...loaded].filter((file) => file === 'src/star/reader.ts' || file === 'src/star/star-engine.ts')).toEqual([]);
    }
  });
});
