// Turns a shader name into WGSL ready for createShaderModule.
// Small additions to WGSL, all plain text:
//   `//#include other`  pastes shaders/other.wgsl once (shared helpers such as the online-softmax tile);
//                       a pipeline may swap an included file for another with the same functions
//                       (`includes`, e.g. the subgroup reductions for the workgroup-memory ones);
//   `enable x;`         in any file, included ones too, is moved to the top, where WGSL wants directives;
//   `diagnostic(...);`  likewise, after the enables (WGSL wants it before any declaration, aliases too);
//   type aliases        chosen per pipeline (e.g. the weight type W = f16 or f32) are prepended,
//                       with `enable f16;` when any alias is f16;
//   `//#struct Name`    becomes the struct a pipeline declares in TypeScript (`structs`, see
//                       uniform-struct.ts), so the uniform's fields and their packing have one source;
//   shared constants    u32 values TypeScript also relies on (`shared`: e.g. a private array's size,
//                       which an override constant may not set) are prepended as `const`.

import { wgslStruct, type UniformLayout } from './uniform-struct.ts';

export type ScalarType = 'f32' | 'f16';
export type TypeAliases = Readonly<Record<string, ScalarType>>;
/** Included file name → the file pasted in its place. */
export type IncludeSwaps = Readonly<Record<string, string>>;

export interface ComposeOptions {
  aliases?: TypeAliases;
  includes?: IncludeSwaps;
  /** Struct name → its fields, for the `//#struct Name` lines. */
  structs?: Readonly<Record<string, UniformLayout>>;
  /** Name → a u32 constant both sides use. */
  shared?: Readonly<Record<string, number>>;
}

const includeLine = /^\s*\/\/#include\s+([\w-]+)\s*$/gm;
const structLine = /^\s*\/\/#struct\s+(\w+)\s*$/gm;
const enableLine = /^\s*enable\s+([\w\s,]+);\s*$/gm;
const diagnosticLine = /^\s*(diagnostic\s*\([\w\s.,]+\)\s*;)\s*$/gm;

export function composeShader(name: string, read: (name: string) => string, options: ComposeOptions = {}): string {
  const { aliases = {}, includes = {}, structs = {}, shared = {} } = options;
  const included = new Set<string>();
  const expand = (file: string, chain: string[]): string => {
    if (chain.includes(file)) throw new Error(`Shader include cycle: ${[...chain, file].join(' -> ')}`);
    return read(file).replace(includeLine, (_line, named: string) => {
      const dep = includes[named] ?? named;
      if (included.has(dep)) return '';
      included.add(dep);
      return expand(dep, [...chain, file]);
    });
  };
  const extensions = new Set<string>();
  if (Object.values(aliases).includes('f16')) extensions.add('f16');
  const body = expand(name, []).replace(enableLine, (_line, list: string) => {
    for (const extension of list.split(',')) if (extension.trim()) extensions.add(extension.trim());
    return '';
  });
  const diagnostics = new Set<string>();
  const code = body
    .replace(diagnosticLine, (_line, directive: string) => {
      diagnostics.add(directive);
      return '';
    })
    .replace(structLine, (_line, struct: string) => {
      const layout = structs[struct];
      if (!layout) throw new Error(`Shader "${name}" wants struct ${struct}, which its pipeline does not declare (structs)`);
      return wgslStruct(struct, layout);
    });
  const enables = [...extensions].map((extension) => `enable ${extension};\n`).join('');
  const aliasLines = Object.entries(aliases)
    .map(([alias, t]) => `alias ${alias} = ${t};\n`)
    .join('');
  const sharedLines = Object.entries(shared)
    .map(([constant, value]) => {
      if (!(Number.isInteger(value) && value >= 0 && value < 2 ** 32)) throw new Error(`Shared constant ${constant} = ${value} is not a u32`);
      return `const ${constant} = ${value}u;\n`;
    })
    .join('');
  return enables + [...diagnostics].map((d) => `${d}\n`).join('') + aliasLines + sharedLines + code;
}
