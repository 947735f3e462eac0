// KV cache elements stored as f16, two to a u32 (element e in the low half of word e / 2 when e is
// even), packed and unpacked with pack2x16float/unpack2x16float: half the memory of f32 and no need
// for the shader-f16 feature. Same names as shaders/kv_f32.wgsl.

alias kv_word = u32;
const KV_PER_WORD = 2u;

fn kv_unpack(word: kv_word, e: u32) -> f32 { return unpack2x16float(word)[e % 2u]; }

fn kv_quad(words: vec4<kv_word>, j: u32) -> vec4f {
  let pair = select(words.xy, words.zw, j == 1u);
  return vec4f(unpack2x16float(pair.x), unpack2x16float(pair.y));
}

// Rounds to one of the two nearest f16 values (WGSL leaves which to the implementation). Beyond f16's
// range pack2x16float's result is undefined, so values are first clamped to the largest finite f16:
// a key that large saturates instead of turning into garbage.
const F16_MAX = 65504.0;

fn kv_pack(pair: vec2f) -> kv_word { return pack2x16float(clamp(pair, vec2f(-F16_MAX), vec2f(F16_MAX))); }
