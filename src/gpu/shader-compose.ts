// Turns a shader name into WGSL ready for createShaderModule.
// Two small additions to WGSL, both plain text:
//   `//#include other`  pastes shaders/other.wgsl once (shared helpers such as the online-softmax tile);
//   type aliases        chosen per pipeline (e.g. the weight type W = f16 or f32) are prepended,
//                       with `enable f16;` when any alias is f16.

export type ScalarType = 'f32' | 'f16';
export type TypeAliases = Readonly<Record<string, ScalarType>>;

const includeLine = /^\s*\/\/#include\s+([\w-]+)\s*$/gm;

export function composeShader(name: string, read: (name: string) => string, aliases: TypeAliases = {}): string {
  const included = new Set<string>();
  const expand = (file: string, chain: string[]): string => {
    if (chain.includes(file)) throw new Error(`Shader include cycle: ${[...chain, file].join(' -> ')}`);
    return read(file).replace(includeLine, (_line, dep: string) => {
      if (included.has(dep)) return '';
      included.add(dep);
      return expand(dep, [...chain, file]);
    });
  };
  const body = expand(name, []);
  const entries = Object.entries(aliases);
  const enableF16 = entries.some(([, t]) => t === 'f16') ? 'enable f16;\n' : '';
  const aliasLines = entries.map(([alias, t]) => `alias ${alias} = ${t};\n`).join('');
  return enableF16 + aliasLines + body;
}
