//! Deterministic test signals shared by the signal-processing tests.

/// `len` uniform values in [-1, 1) from xorshift64* seeded with `seed` (no `rand` dependency in
/// the tests' numbers, so they cannot change with a crate upgrade).
pub(super) fn uniform(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
            (bits as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as f32
        })
        .collect()
}

/// `len` standard-normal values (Box-Muller on [`uniform`]).
pub(super) fn gaussian(len: usize, seed: u64) -> Vec<f32> {
    let u = uniform(2 * len, seed);
    u.chunks(2)
        .map(|p| {
            let u1 = (f64::from(p[0]) + 1.0) / 2.0 + 1e-12;
            let u2 = (f64::from(p[1]) + 1.0) / 2.0;
            ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
        })
        .collect()
}

/// `len` samples of `amplitude * sin(2π freq t)` at `rate` Hz.
pub(super) fn sine(len: usize, freq: f64, rate: f64, amplitude: f64) -> Vec<f32> {
    (0..len)
        .map(|i| (amplitude * (2.0 * std::f64::consts::PI * freq * i as f64 / rate).sin()) as f32)
        .collect()
}
