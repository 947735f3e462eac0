import { Gpu } from './src/gpu/gpu.ts';
import { composeShader } from './src/gpu/shader-compose.ts';
import { shaderSource } from './src/gpu/shader-source.node.ts';
const gpu = await Gpu.create();
for (const name of process.argv.slice(2)) {
  const [shader, alias] = name.split(':');
  const code = composeShader(shader, shaderSource, alias ? { W: alias as 'f16' } : {});
  const m = gpu.device.createShaderModule({ code });
  const info = await m.getCompilationInfo();
  console.log(name, info.messages.map((x) => `${x.type} ${x.lineNum}:${x.linePos} ${x.message}`).join('\n') || 'ok');
}
gpu.destroy();
