/* The f32 FMA peak of one core on the AVX2 path: 12 independent chains of 8-lane fused
 * multiply-adds (enough to cover the FMA latency on two pipes), timed over 4.8e9 FMAs.
 * BENCHMARKS.md divides the MLP's arithmetic by this figure to say how far a target is from
 * what the core can do at all. (`cargo run --release --example peak_flops` measures the AVX-512
 * and bf16 peaks, on processors that have them.)
 *
 *   gcc -O2 -mavx2 -mfma -o /tmp/fma_peak scripts/fma_peak.c && /tmp/fma_peak
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

int main(void) {
  enum { CHAINS = 12 };
  const long iterations = 400000000;
  __m256 acc[CHAINS];
  const __m256 scale = _mm256_set1_ps(0.999999f), shift = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_set1_ps((float)i);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long it = 0; it < iterations; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm256_fmadd_ps(acc[i], scale, shift);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double seconds = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
  /* Use the results, so the loop is not optimized away. */
  float sum = 0;
  for (int i = 0; i < CHAINS; i++) {
    float lanes[8];
    _mm256_storeu_ps(lanes, acc[i]);
    sum += lanes[0];
  }
  /* 2 FLOP per lane per FMA. */
  printf("%.1f GFLOP/s f32 (AVX2 FMA, one thread; checksum %g)\n",
         iterations * CHAINS * 8 * 2 / seconds / 1e9, sum);
  return 0;
}
