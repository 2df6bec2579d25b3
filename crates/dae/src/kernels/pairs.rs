//! Moving data between a row of interleaved pairs and its two halves, the step a stride-2 layout
//! needs on each side of a GEMM: the decoders' 2x2 transposed convolutions (`upsample.rs`) and
//! the Winograd tiles (`winograd/`). Written as whole-row zips, so the compiler emits one loop
//! for the row rather than element-by-element strided code.

/// `row[2k] += first[k]`, `row[2k + 1] += second[k]`, for as many whole pairs as all three hold.
#[inline]
pub(super) fn add_pairs(row: &mut [f32], first: &[f32], second: &[f32]) {
    for ((pair, &a), &b) in row.chunks_exact_mut(2).zip(first).zip(second) {
        pair[0] += a;
        pair[1] += b;
    }
}

/// `first[k] = row[2k]`, `second[k] = row[2k + 1]`, for as many whole pairs as all three hold.
#[inline]
pub(super) fn split_pairs(row: &[f32], first: &mut [f32], second: &mut [f32]) {
    for ((pair, a), b) in row.chunks_exact(2).zip(first).zip(second) {
        *a = pair[0];
        *b = pair[1];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_split_and_add_back_into_place() {
        let row = [1.0, 2.0, 3.0, 4.0, 5.0];
        let (mut first, mut second) = ([0.0; 3], [0.0; 2]);
        split_pairs(&row, &mut first, &mut second);
        // The odd element out belongs to no pair.
        assert_eq!((first, second), ([1.0, 3.0, 0.0], [2.0, 4.0]));
        let mut out = [10.0; 5];
        add_pairs(&mut out, &first, &second);
        assert_eq!(out, [11.0, 12.0, 13.0, 14.0, 10.0]);
    }
}
