/** A seeded random source, so a benchmark run can be repeated exactly (Math.random cannot be seeded). */

/** sfc32: small, fast, and good enough for synthetic data; 32 bits per step. */
export class Random {
  private a: number
  private b: number
  private c: number
  private d = 1
  private spare: number | undefined

  constructor(seed: number) {
    this.a = 0x9e3779b9 ^ seed
    this.b = 0x243f6a88 ^ Math.imul(seed, 0x85ebca6b)
    this.c = 0xb7e15162 ^ Math.imul(seed, 0xc2b2ae35)
    // The first outputs of a fresh state are poorly mixed.
    for (let i = 0; i < 16; i++) this.next()
  }

  /** A uniform float in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return (t >>> 0) / 4294967296
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** A standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare
      this.spare = undefined
      return s
    }
    const u = 1 - this.next()
    const v = this.next()
    const r = Math.sqrt(-2 * Math.log(u))
    this.spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
}
