// A uniform struct declared once, in TypeScript: the WGSL struct text (pasted where a shader says
// `//#struct Name`, see shader-compose.ts) and the packing of a dispatch's values both come from one
// descriptor, so a field added, removed or moved on one side cannot silently shift the others.

export type UniformScalar = 'u32' | 'i32' | 'f32';
/** The struct's fields in order (object keys keep their insertion order), each a 4-byte scalar. */
export type UniformLayout = Readonly<Record<string, UniformScalar>>;

/** The WGSL declaration of `layout` as struct `name`. */
export function wgslStruct(name: string, layout: UniformLayout): string {
  const fields = Object.entries(layout).map(([field, type]) => `  ${field}: ${type},\n`);
  return `struct ${name} {\n${fields.join('')}}`;
}

/** The values of one dispatch in the struct's field order, typed, for Gpu.uniform. */
export function uniformFields<L extends UniformLayout>(layout: L, values: { readonly [K in keyof L]: number }): Array<readonly [UniformScalar, number]> {
  return Object.entries(layout).map(([field, type]) => [type, values[field as keyof L]] as const);
}
