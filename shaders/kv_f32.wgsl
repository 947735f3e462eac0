// KV cache elements for the kernels that read or write cache chunks (kv_store, the attention kernels):
// f32 storage, one element a word. Every KV element type has a file with these names over the same
// element indices ([row, kv_heads·head_dim] flattened), and a pipeline swaps this include for the
// type's (src/gpu/kernels/kv-store.ts, kvIncludes).
//   kv_word          the type of a cache buffer's array elements;
//   KV_PER_WORD      elements packed in one word;
//   kv_unpack(w, e)  element e (a flat index) out of the word w that holds it, w = cache[e / KV_PER_WORD];
//   kv_quad(words, j)  elements 4j … 4j+3 (j < KV_PER_WORD) of four consecutive words (a vec4 load);
//   kv_pack(pair)    the word holding KV_PER_WORD consecutive elements, given as pair.x (, pair.y).

alias kv_word = f32;
const KV_PER_WORD = 1u;

fn kv_unpack(word: kv_word, e: u32) -> f32 { return word; }

fn kv_quad(words: vec4<kv_word>, j: u32) -> vec4f { return words; }

fn kv_pack(pair: vec2f) -> kv_word { return pair.x; }
