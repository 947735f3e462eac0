import { describe, expect, it } from 'vitest';
import { composeShader } from '../../src/gpu/shader-compose.ts';
import { uniformFields } from '../../src/gpu/uniform-struct.ts';

function files(map: Record<string, string>): (name: string) => string {
  return (name) => {
    const code = map[name];
    if (code === undefined) throw new Error(`no ${name}`);
    return code;
  };
}

/** The composed shader's non-blank lines (pasting keeps the files' own line ends). */
const lines = (code: string) => code.split('\n').filter((line) => line.trim() !== '');

describe('composeShader', () => {
  it('pastes each included file once, where it is first included', () => {
    const read = files({
      main: '//#include a\n//#include b\nfn main() {}\n',
      a: '//#include b\nfn a() {}\n',
      b: 'fn b() {}\n',
    });
    expect(lines(composeShader('main', read))).toEqual(['fn b() {}', 'fn a() {}', 'fn main() {}']);
  });

  it('refuses include cycles', () => {
    const read = files({ main: '//#include a\n', a: '//#include main\n' });
    expect(() => composeShader('main', read)).toThrow('Shader include cycle: main -> a -> main');
  });

  it('prepends type aliases, with `enable f16;` when one is f16', () => {
    const read = files({ main: 'fn main() {}\n' });
    expect(composeShader('main', read, { aliases: { W: 'f32' } })).toBe('alias W = f32;\nfn main() {}\n');
    expect(composeShader('main', read, { aliases: { W: 'f16', A: 'f32' } })).toBe('enable f16;\nalias W = f16;\nalias A = f32;\nfn main() {}\n');
  });

  it('moves `enable` directives of any file to the top, once each, before the aliases', () => {
    const read = files({
      main: '//#include reduce\n//#include other\nfn main() {}\n',
      reduce: 'enable subgroups;\n\nfn reduce() {}\n',
      other: '  enable f16, subgroups;\nfn other() {}\n',
    });
    expect(lines(composeShader('main', read, { aliases: { W: 'f16' } }))).toEqual([
      'enable f16;',
      'enable subgroups;',
      'alias W = f16;',
      'fn reduce() {}',
      'fn other() {}',
      'fn main() {}',
    ]);
  });

  it('moves `diagnostic` directives to the top after the enables, before the aliases', () => {
    const read = files({
      main: 'enable f16;\ndiagnostic(off, chromium.subgroup_matrix_uniformity);\n//#include other\nfn main() {}\n',
      other: 'diagnostic(off, derivative_uniformity);\n@diagnostic(off, derivative_uniformity) fn other() {}\n',
    });
    expect(lines(composeShader('main', read, { aliases: { B: 'f32' } }))).toEqual([
      'enable f16;',
      'diagnostic(off, chromium.subgroup_matrix_uniformity);',
      'diagnostic(off, derivative_uniformity);',
      'alias B = f32;',
      '@diagnostic(off, derivative_uniformity) fn other() {}',
      'fn main() {}',
    ]);
  });

  it('swaps an included file for another with `includes`, everywhere it is included', () => {
    const read = files({
      main: '//#include reduce\n//#include helper\nfn main() {}\n',
      helper: '//#include reduce\nfn helper() {}\n',
      reduce: 'fn sum() {} // workgroup memory\n',
      reduce_subgroups: 'enable subgroups;\nfn sum() {} // subgroups\n',
    });
    const plain = composeShader('main', read);
    expect(plain).toContain('// workgroup memory');
    expect(plain).not.toContain('subgroups');
    const swapped = composeShader('main', read, { includes: { reduce: 'reduce_subgroups' } });
    expect(swapped.startsWith('enable subgroups;\n')).toBe(true);
    expect(swapped.match(/fn sum/g)).toHaveLength(1);
    expect(swapped).not.toContain('workgroup memory');
  });

  it('writes a `//#struct` from the pipeline\'s descriptor, the same one that packs its values, in field order', () => {
    const read = files({ main: '//#include params\n@group(0) @binding(0) var<uniform> p: Params;\n', params: '//#struct Params\n' });
    const layout = { rows: 'u32', offset: 'i32', scale: 'f32' } as const;
    expect(lines(composeShader('main', read, { structs: { Params: layout } }))).toEqual([
      'struct Params {',
      '  rows: u32,',
      '  offset: i32,',
      '  scale: f32,',
      '}',
      '@group(0) @binding(0) var<uniform> p: Params;',
    ]);
    expect(uniformFields(layout, { scale: 0.5, rows: 3, offset: -1 })).toEqual([
      ['u32', 3],
      ['i32', -1],
      ['f32', 0.5],
    ]);
    expect(() => composeShader('main', read)).toThrow('Shader "main" wants struct Params, which its pipeline does not declare (structs)');
  });

  it('prepends shared u32 constants after the aliases, and refuses a value that is not one', () => {
    const read = files({ main: 'var<private> a: array<f32, MAX_ITEMS>;\n' });
    expect(composeShader('main', read, { aliases: { W: 'f32' }, shared: { MAX_ITEMS: 16 } })).toBe('alias W = f32;\nconst MAX_ITEMS = 16u;\nvar<private> a: array<f32, MAX_ITEMS>;\n');
    expect(() => composeShader('main', read, { shared: { MAX_ITEMS: 1.5 } })).toThrow('Shared constant MAX_ITEMS = 1.5 is not a u32');
  });
});
