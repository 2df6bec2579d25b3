//! The attention kernel against Burn's primitives, on every instruction set the machine has.

use burn::backend::flex::FlexTensor;
use burn::backend::{Flex, TensorData};
use burn::tensor::Shape;
use rand::{Rng as _, SeedableRng};

use super::*;

fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.gen_range(-1.5f32..1.5)).collect()
}

fn flex(values: &[f32], shape: [usize; 3]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values.to_vec(), shape))
}

fn values(t: FlexTensor) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32")
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn forward_and_gradients_match_burns_primitives_on_every_path() {
    // Odd lengths and widths, one head, and a head width the microkernels do not tile evenly.
    for (i, &(b, t, d, heads)) in [(2, 7, 12, 3), (1, 1, 4, 1), (3, 9, 20, 4), (2, 16, 32, 2)]
        .iter()
        .enumerate()
    {
        let len = b * t * d;
        let seed = 10 * i as u64;
        let (q, k, v, g) = (
            random(len, seed),
            random(len, seed + 1),
            random(len, seed + 2),
            random(len, seed + 3),
        );
        let shape = [b, t, d];
        let want = values(reference_forward::<Flex>(
            flex(&q, shape),
            flex(&k, shape),
            flex(&v, shape),
            heads,
        ));
        let want_grads = values(reference_backward::<Flex>(
            flex(&q, shape),
            flex(&k, shape),
            flex(&v, shape),
            flex(&g, shape),
            heads,
        ));
        let dims = Shape::new(shape);
        for isa in Isa::supported() {
            let got = forward_on(isa, &q, &k, &v, &dims, heads);
            let diff = max_diff(&got, &want);
            assert!(
                diff < 1e-5,
                "{isa:?} {shape:?}/{heads}: output differs by {diff}"
            );
            let grads = backward_on(isa, (&q, &k, &v), &g, &dims, heads);
            let diff = max_diff(&grads, &want_grads);
            assert!(
                diff < 1e-5,
                "{isa:?} {shape:?}/{heads}: gradients differ by {diff}"
            );
        }
    }
}

#[test]
fn unstack_returns_each_gradient_in_order() {
    let stacked: Vec<f32> = (0..3 * 2 * 3 * 4).map(|i| i as f32).collect();
    let t = FlexTensor::from_data(TensorData::new(stacked.clone(), [3, 2, 3, 4]));
    for index in 0..3 {
        let one = values(unstack::<Flex>(t.clone(), index));
        assert_eq!(one, stacked[index * 24..(index + 1) * 24]);
    }
}

#[test]
fn weights_of_equal_keys_are_uniform_so_the_context_is_the_mean_value() {
    // Every key the same: each query weighs the t positions equally, and the context of every
    // position is the mean of the values (per head, per column).
    let (b, t, d, heads) = (1, 5, 6, 2);
    let q = random(b * t * d, 1);
    let k = vec![0.3f32; b * t * d];
    let v = random(b * t * d, 2);
    let out = forward_on(Isa::active(), &q, &k, &v, &Shape::new([b, t, d]), heads);
    for col in 0..d {
        let mean = (0..t).map(|r| v[r * d + col]).sum::<f32>() / t as f32;
        for r in 0..t {
            assert!((out[r * d + col] - mean).abs() < 1e-6, "row {r} col {col}");
        }
    }
}
