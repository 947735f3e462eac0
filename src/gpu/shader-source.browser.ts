// Browser: Vite bundles every shaders/*.wgsl as text, the same files Node reads from disk.
const files = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<
  string,
  string
>;

export function shaderSource(name: string): string {
  const code = files[`../../shaders/${name}.wgsl`];
  if (code === undefined) throw new Error(`No shader named "${name}" (looked for shaders/${name}.wgsl)`);
  return code;
}
