//! One seed drives every random draw. Each consumer (shuffling, corruption of epoch e, the fixed
//! validation corruption, ...) gets its own generator, derived from the run seed, a purpose and an
//! index, so that adding a draw in one place never shifts the numbers of another, and a resumed
//! run draws exactly what an uninterrupted one would.

use rand::SeedableRng;

/// The random generator every draw uses ([`rand_chacha::ChaCha8Rng`]): the same seed gives the
/// same numbers on every platform.
pub type Rng = rand_chacha::ChaCha8Rng;

/// What a derived generator is for; part of its seed.
#[derive(Clone, Copy, Debug)]
#[repr(u64)]
pub enum Purpose {
    /// Model initialization.
    Init = 1,
    /// Order of the training images in an epoch.
    Shuffle = 2,
    /// Corruption of the training batches of an epoch.
    TrainNoise = 3,
    /// The fixed corruption of the held-out set.
    EvalNoise = 4,
    /// Backend randomness (dropout) during an epoch.
    Backend = 5,
    /// Representation probes: k-means restarts (index 0) and PCA initialization (index 1).
    Probe = 6,
    /// Splits of the data drawn once per run: a graph's held-out edges (index 0) and, when the
    /// files give none, its probe split (index 1); a table's training and held-out rows.
    Split = 7,
    /// Samples of a synthetic distribution drawn once per run (the score view's training set,
    /// index 0; its held-out set, index 1; the final measurement's fresh samples, 2 and up).
    Data = 8,
    /// Sampling from a generative model: the starting noise and every step's noise of image
    /// number `index`.
    Sample = 9,
    /// Sample-quality metrics: KID's random subsets (index: the subset).
    Quality = 10,
}

/// SplitMix64 finalizer: a bijective scramble of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed for `purpose` number `index` (e.g. the epoch) of a run seeded with `seed`.
pub fn derive(seed: u64, purpose: Purpose, index: u64) -> u64 {
    mix(mix(mix(seed) ^ purpose as u64) ^ index)
}

/// A generator for `purpose` number `index` of a run seeded with `seed`.
pub fn rng(seed: u64, purpose: Purpose, index: u64) -> Rng {
    Rng::seed_from_u64(derive(seed, purpose, index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a = rng(7, Purpose::Shuffle, 3).next_u64();
        assert_eq!(a, rng(7, Purpose::Shuffle, 3).next_u64());
        assert_ne!(a, rng(7, Purpose::Shuffle, 4).next_u64());
        assert_ne!(a, rng(7, Purpose::TrainNoise, 3).next_u64());
        assert_ne!(a, rng(8, Purpose::Shuffle, 3).next_u64());
    }
}
