// mulberry32: a tiny seeded 32-bit generator, the same sequence on every platform (sampling locations, the SAE's
// starting dictionary, synthetic benchmark images). Each user maps its integers to the range it needs.

/** The generator's next 32-bit unsigned integer, per call. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
