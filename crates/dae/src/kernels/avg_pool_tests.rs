//! The 2x2 average pool kernel against Burn's `AvgPool2d`, forward and gradient, on the shared
//! random shapes (odd sizes drop their trailing row or column; one shape takes the threaded path).

use burn::nn::pool::{AvgPool2d, AvgPool2dConfig};
use burn::prelude::*;

use super::avg_pool2d;
use super::tests::{random, values, SHAPES};

fn pool_layer() -> AvgPool2d {
    AvgPool2dConfig::new([2, 2]).with_strides([2, 2]).init()
}

#[test]
fn avg_pool_forward_matches_burn() {
    let device = Device::flex();
    for (i, shape) in SHAPES.into_iter().enumerate() {
        let x = random(shape, 300 + i as u64, &device);
        let want = pool_layer().forward(x.clone());
        let got = avg_pool2d(&pool_layer(), x);
        assert_eq!(got.dims(), want.dims(), "{shape:?}");
        for (g, w) in values(got).into_iter().zip(values(want)) {
            // Four values below 1 in magnitude: any summation order is within 4 ulps of 1.
            assert!((g - w).abs() <= 4.0 * f32::EPSILON, "{shape:?}: {g} vs {w}");
        }
    }
}

#[test]
fn avg_pool_gradient_matches_burn() {
    let device = Device::flex().autodiff();
    for (i, shape) in SHAPES.into_iter().enumerate() {
        let x = random(shape, 400 + i as u64, &device).require_grad();
        let out_shape = [shape[0], shape[1], shape[2] / 2, shape[3] / 2];
        let upstream = random(out_shape, 500 + i as u64, &device);
        let loss = |y: Tensor<4>| (y * upstream.clone()).sum();
        let got = x
            .grad(&loss(avg_pool2d(&pool_layer(), x.clone())).backward())
            .expect("gradient");
        let want = x
            .grad(&loss(pool_layer().forward(x.clone())).backward())
            .expect("gradient");
        assert_eq!(got.dims(), x.dims(), "{shape:?}");
        // A quarter of one upstream value: exact in both, zeros where no window reaches.
        assert_eq!(values(got), values(want), "{shape:?}");
    }
}

#[test]
fn a_padded_or_ceil_mode_pool_takes_burns_layer() {
    let device = Device::flex();
    let x = random([2, 3, 5, 5], 7, &device);
    let ceil = AvgPool2dConfig::new([2, 2])
        .with_strides([2, 2])
        .with_ceil_mode(true)
        .init();
    let got = avg_pool2d(&ceil, x.clone());
    assert_eq!(got.dims(), [2, 3, 3, 3]);
    assert_eq!(values(got), values(ceil.forward(x)));
}
