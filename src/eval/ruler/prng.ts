// A small seeded PRNG (sfc32) so every RULER sample is the same on every machine and run: the same
// seed gives the same haystack, needles and questions, whatever the model or attention mode.

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Seeds from any mix of numbers and strings: `new Prng(seed, 'niah_single_1', 4096, index)`. */
  constructor(...parts: (number | string)[]) {
    // FNV-1a over the parts' text, four times with different offsets, fills the 128-bit state.
    const text = parts.join('\u0000');
    const hash = (offset: number) => {
      let h = (0x811c9dc5 ^ offset) >>> 0;
      for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
      return h;
    };
    this.a = hash(0x9e3779b9);
    this.b = hash(0x243f6a88);
    this.c = hash(0xb7e15162);
    this.d = 1;
    // The first outputs of sfc32 still show the seed: discard them.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** Uniform integer in [low, high], both included. */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** k distinct items, in the order drawn. */
  sample<T>(items: readonly T[], k: number): T[] {
    if (k > items.length) throw new RangeError(`cannot draw ${k} distinct items from ${items.length}`);
    const pool = [...items];
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.next() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    return pool.slice(0, k);
  }

  /** A random version-4 UUID, as Python's uuid.UUID(int=getrandbits(128), version=4) prints it. */
  uuid(): string {
    const hex = Array.from({ length: 4 }, () => this.nextUint32().toString(16).padStart(8, '0')).join('');
    const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }
}
