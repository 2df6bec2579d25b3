//! Every custom kernel against Burn's reference ops on random shapes: odd sizes, batch 1, sizes
//! that do and do not split across threads.

use burn::backend::Flex;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;

use super::*;

/// (batch, channels, height, width): odd and even sizes, batch 1, one large enough to take the
/// multi-threaded path.
pub(super) const SHAPES: [[usize; 4]; 6] = [
    [1, 1, 2, 2],
    [1, 3, 5, 7],
    [2, 4, 9, 6],
    [3, 2, 28, 28],
    [1, 1, 1, 4],
    [16, 32, 28, 28],
];

pub(super) fn random(shape: [usize; 4], seed: u64, device: &Device) -> Tensor<4> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

pub(super) fn values(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32")
}

fn pool_layer() -> MaxPool2d {
    MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init()
}

fn reference(x: Tensor<4>) -> Tensor<4> {
    pool_layer().forward(relu(x))
}

#[test]
fn relu_max_pool_forward_matches_burn() {
    let device = Device::flex();
    for (i, shape) in SHAPES.into_iter().enumerate() {
        let x = random(shape, i as u64, &device);
        let want = reference(x.clone());
        let got = relu_max_pool2d(&pool_layer(), x);
        assert_eq!(got.dims(), want.dims(), "{shape:?}");
        assert_eq!(values(got), values(want), "{shape:?}");
    }
}

#[test]
fn relu_max_pool_gradient_matches_burn() {
    let device = Device::flex().autodiff();
    for (i, shape) in SHAPES.into_iter().enumerate() {
        let x = random(shape, 100 + i as u64, &device).require_grad();
        let out_shape = [shape[0], shape[1], shape[2] / 2, shape[3] / 2];
        // A random upstream gradient, so every output's gradient differs.
        let upstream = random(out_shape, 200 + i as u64, &device);
        let loss = |y: Tensor<4>| (y * upstream.clone()).sum();
        let got = x
            .grad(&loss(relu_max_pool2d(&pool_layer(), x.clone())).backward())
            .expect("gradient");
        let want = x
            .grad(&loss(reference(x.clone())).backward())
            .expect("gradient");
        assert_eq!(values(got), values(want), "{shape:?}");
    }
}

#[test]
fn flex_pool_kernels_match_the_reference_bodies() {
    use burn::backend::flex::FlexTensor;
    let device = Device::flex();
    let flex = |t: Tensor<4>| FlexTensor::from_data(t.into_data());
    let floats = |t: FlexTensor| t.into_data().try_to_vec::<f32>().expect("f32");
    for (i, [n, c, h, w]) in SHAPES.into_iter().enumerate() {
        let x = random([n, c, h, w], 700 + i as u64, &device);
        let g = random([n, c, h / 2, w / 2], 800 + i as u64, &device);
        let got = floats(<Flex as DaeKernels>::relu_max_pool2x2(flex(x.clone())));
        let want = floats(pool::reference_forward::<Flex>(flex(x.clone())));
        assert_eq!(got, want, "forward {:?}", SHAPES[i]);
        let y = <Flex as DaeKernels>::relu_max_pool2x2(flex(x.clone()));
        let got = floats(<Flex as DaeKernels>::relu_max_pool2x2_backward(
            flex(x.clone()),
            y,
            flex(g.clone()),
        ));
        let want = floats(pool::reference_backward::<Flex>(flex(x), flex(g)));
        assert_eq!(got, want, "backward {:?}", SHAPES[i]);
    }
}

/// Largest |a - b| relative to the largest |b| (GEMM sums in a different order than Burn).
fn assert_close(got: Vec<f32>, want: Vec<f32>, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
    let err = got
        .iter()
        .zip(&want)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        err <= 1e-4 * scale.max(1.0),
        "{what}: max error {err} (scale {scale})"
    );
}

/// Checks a layer's output and its gradients with respect to the input, weight and bias, for
/// the upstream gradient `upstream`: `got` (dae's kernel) against `want` (Burn's layer), each
/// run on its own graph.
fn assert_same_layer(
    what: &str,
    [x, upstream]: [&Tensor<4>; 2],
    weight: &Tensor<4>,
    bias: &Tensor<1>,
    got: impl Fn() -> Tensor<4>,
    want: impl Fn() -> Tensor<4>,
) {
    let run = |y: Tensor<4>| {
        let out = values(y.clone());
        let grads = (y * upstream.clone()).sum().backward();
        let db = bias.grad(&grads).expect("dbias").into_data();
        [
            out,
            values(x.grad(&grads).expect("dx")),
            values(weight.grad(&grads).expect("dweight")),
            db.try_to_vec::<f32>().expect("f32 bias"),
        ]
    };
    let (got, want) = (run(got()), run(want()));
    let names = ["output", "dx", "dweight", "dbias"];
    for ((name, g), w) in names.iter().zip(got).zip(want) {
        assert_close(g, w, &format!("{what} {name}"));
    }
}

/// (batch, in channels, out channels, height, width, kernel, padding).
const CONVS: [[usize; 7]; 9] = [
    [1, 1, 32, 28, 28, 3, 1],
    // Winograd's forward pass and gradients (`winograd/`), with padding 1, 0 and 2 (the
    // input gradient's mirrored padding 1, 2 and 0).
    [2, 32, 64, 14, 14, 3, 1],
    [3, 16, 20, 7, 5, 3, 0],
    [1, 17, 16, 5, 6, 3, 2],
    [1, 3, 5, 7, 9, 3, 0],
    [3, 2, 4, 5, 6, 5, 2],
    [2, 4, 3, 6, 5, 1, 0],
    [1, 2, 3, 2, 3, 3, 2],
    // As wide as its input, with a kernel wider than the image: some taps see no pixel.
    [2, 3, 2, 2, 2, 5, 2],
];

#[test]
fn conv2d_forward_and_gradients_match_burn() {
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::PaddingConfig2d;
    let device = Device::flex().autodiff();
    for (i, [n, ci, co, h, w, k, p]) in CONVS.into_iter().enumerate() {
        let what = format!("conv {:?}", CONVS[i]);
        device.seed(i as u64);
        let layer = Conv2dConfig::new([ci, co], [k, k])
            .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
            .init(&device);
        let x = random([n, ci, h, w], 300 + i as u64, &device).require_grad();
        let (ho, wo) = (h + 2 * p - k + 1, w + 2 * p - k + 1);
        let upstream = random([n, co, ho, wo], 400 + i as u64, &device);
        assert_same_layer(
            &what,
            [&x, &upstream],
            &layer.weight.val(),
            &layer.bias.as_ref().expect("bias").val(),
            || conv2d(&layer, x.clone()),
            || layer.forward(x.clone()),
        );
    }
}

/// What a fused activation stands for: Burn's own `relu` / `sigmoid` after the layer.
fn burn_activation<const D: usize>(y: Tensor<D>, act: Activation) -> Tensor<D> {
    match act {
        Activation::Identity => y,
        Activation::Relu => relu(y),
        Activation::Sigmoid => burn::tensor::activation::sigmoid(y),
    }
}

/// (batch, in channels, out channels, height, width, kernel h, kernel w).
const UPSAMPLES: [[usize; 7]; 6] = [
    [2, 64, 32, 7, 7, 2, 2],
    [1, 32, 1, 14, 14, 2, 2],
    [3, 3, 5, 5, 3, 2, 3],
    [1, 2, 2, 1, 1, 3, 3],
    [2, 4, 3, 3, 2, 1, 1],
    // Two columns, three rows: the interleaved rows of `upsample.rs` with kh != kw.
    [2, 3, 4, 3, 5, 3, 2],
];

#[test]
fn conv_transpose2d_forward_and_gradients_match_burn() {
    use burn::nn::conv::ConvTranspose2dConfig;
    let device = Device::flex().autodiff();
    let acts = [Activation::Relu, Activation::Identity, Activation::Sigmoid];
    for (i, [n, ci, co, h, w, kh, kw]) in UPSAMPLES.into_iter().enumerate() {
        // Every shape with one of the fused activations, each activation on several shapes.
        let act = acts[i % acts.len()];
        let what = format!("conv transpose {:?} {act:?}", UPSAMPLES[i]);
        device.seed(50 + i as u64);
        let layer = ConvTranspose2dConfig::new([ci, co], [kh, kw])
            .with_stride([kh, kw])
            .init(&device);
        let x = random([n, ci, h, w], 500 + i as u64, &device).require_grad();
        let upstream = random([n, co, h * kh, w * kw], 600 + i as u64, &device);
        assert_same_layer(
            &what,
            [&x, &upstream],
            &layer.weight.val(),
            &layer.bias.as_ref().expect("bias").val(),
            || conv_transpose2d(&layer, x.clone(), act),
            || burn_activation(layer.forward(x.clone()), act),
        );
    }
}

#[test]
fn inference_path_matches_burn_without_autodiff() {
    use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
    use burn::nn::PaddingConfig2d;
    let device = Device::flex();
    let conv = Conv2dConfig::new([3, 4], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(&device);
    let up = ConvTranspose2dConfig::new([4, 2], [2, 2])
        .with_stride([2, 2])
        .init(&device);
    let x = random([1, 3, 9, 11], 9, &device);
    assert_close(
        values(conv2d(&conv, x.clone())),
        values(conv.forward(x.clone())),
        "conv",
    );
    let y = random([1, 4, 5, 3], 10, &device);
    assert_close(
        values(conv_transpose2d(&up, y.clone(), Activation::Sigmoid)),
        values(burn_activation(up.forward(y), Activation::Sigmoid)),
        "upsample",
    );
}

/// (batch, inputs, outputs): batch 1, odd sizes, one batch that splits into blocks of rows
/// on 2 threads (more than 128 rows, not a multiple of 64), and the MLP's widest layer.
const LINEARS: [[usize; 3]; 5] = [
    [1, 1, 1],
    [1, 5, 3],
    [7, 13, 9],
    [151, 17, 11],
    [64, 784, 256],
];

#[test]
fn linear_forward_and_gradients_match_burn() {
    use burn::nn::LinearConfig;
    let device = Device::flex().autodiff();
    let acts = [Activation::Identity, Activation::Relu, Activation::Sigmoid];
    for (i, [n, d_in, d_out]) in LINEARS.into_iter().enumerate() {
        for act in acts {
            let what = format!("linear {:?} {act:?}", LINEARS[i]);
            device.seed(i as u64);
            let layer = LinearConfig::new(d_in, d_out).init(&device);
            let to2 = |t: Tensor<4>, rows, cols| t.reshape([rows, cols]);
            let x = to2(random([n, d_in, 1, 1], 700 + i as u64, &device), n, d_in).require_grad();
            let upstream = to2(random([n, d_out, 1, 1], 800 + i as u64, &device), n, d_out);
            let run = |y: Tensor<2>| {
                let out = y.clone().into_data().try_to_vec::<f32>().unwrap();
                let grads = (y * upstream.clone()).sum().backward();
                let g = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
                let bias = layer.bias.as_ref().expect("bias").val();
                let db = bias.grad(&grads).expect("bias gradient");
                (
                    out,
                    g(x.grad(&grads).expect("dx")),
                    g(layer.weight.val().grad(&grads).expect("dweight")),
                    db.into_data().try_to_vec::<f32>().unwrap(),
                )
            };
            let got = run(linear(&layer, x.clone(), act));
            let want = run(burn_activation(layer.forward(x.clone()), act));
            assert_close(got.0, want.0, &format!("{what} output"));
            assert_close(got.1, want.1, &format!("{what} dx"));
            assert_close(got.2, want.2, &format!("{what} dweight"));
            assert_close(got.3, want.3, &format!("{what} dbias"));
        }
    }
}

#[test]
fn flex_linear_gradients_match_the_reference_on_any_thread_count() {
    use burn::backend::flex::FlexTensor;
    let device = Device::flex();
    let flex =
        |t: Tensor<4>, rows, cols| FlexTensor::from_data(t.reshape([rows, cols]).into_data());
    let floats = |t: FlexTensor| t.into_data().try_to_vec::<f32>().expect("f32");
    // (n, d_in, d_out): blocks of rows and of weight rows that do not divide evenly on 3 threads.
    let shapes = [
        [1, 1, 1],
        [200, 100, 7],
        [129, 65, 3],
        [64, 784, 256],
        [0, 70, 5],
    ];
    for [n, d_in, d_out] in shapes {
        let x = random([n, d_in, 1, 1], 900, &device);
        let pre = random([n, d_out, 1, 1], 901, &device);
        let w = random([d_in, d_out, 1, 1], 902, &device);
        let want_x = floats(linear::reference_backward_x::<Flex>(
            flex(pre.clone(), n, d_out),
            flex(w.clone(), d_in, d_out),
        ));
        let want_w = floats(linear::reference_backward_weight::<Flex>(
            flex(x.clone(), n, d_in),
            flex(pre.clone(), n, d_out),
        ));
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
            let (got_x, got_w) = pool.expect("thread pool").install(|| {
                let got_x = <Flex as DaeKernels>::linear_backward_x(
                    flex(pre.clone(), n, d_out),
                    flex(w.clone(), d_in, d_out),
                );
                let got_w = <Flex as DaeKernels>::linear_backward_weight(
                    flex(x.clone(), n, d_in),
                    flex(pre.clone(), n, d_out),
                );
                (floats(got_x), floats(got_w))
            });
            let what = format!(
                "linear backward {:?}, {threads} thread(s)",
                [n, d_in, d_out]
            );
            assert_close(got_x, want_x.clone(), &format!("{what} dx"));
            assert_close(got_w, want_w.clone(), &format!("{what} dweight"));
        }
    }
}

/// SiLU and GELU through the kernel against Burn's `silu` and `gelu`, forward and gradient, on
/// the shapes above plus inputs far in both tails (where σ and Φ saturate), with and without
/// autodiff.
#[test]
fn silu_and_gelu_forward_and_gradient_match_burn() {
    use burn::tensor::activation::{gelu as burn_gelu, silu as burn_silu};
    type Pair<const D: usize> = (fn(Tensor<D>) -> Tensor<D>, fn(Tensor<D>) -> Tensor<D>);
    let device = Device::flex().autodiff();
    let pairs: [(&str, Pair<4>); 2] = [("silu", (silu, burn_silu)), ("gelu", (gelu, burn_gelu))];
    for (name, (ours, burns)) in pairs {
        for (i, shape) in SHAPES.into_iter().enumerate() {
            let x = (random(shape, 300 + i as u64, &device) * 12.0).require_grad();
            let upstream = random(shape, 400 + i as u64, &device);
            let loss = |y: Tensor<4>| (y * upstream.clone()).sum();
            let got_y = ours(x.clone());
            let want_y = burns(x.clone());
            assert_close(values(got_y.clone()), values(want_y.clone()), name);
            let got = x.grad(&loss(got_y).backward()).expect("gradient");
            let want = x.grad(&loss(want_y).backward()).expect("gradient");
            assert_close(values(got), values(want), &format!("{name} gradient"));
            let plain = x.clone().inner();
            assert_close(
                values(ours(plain.clone())),
                values(burns(plain)),
                &format!("{name} without autodiff"),
            );
        }
    }
    let tails = Tensor::<1>::from_floats([-200.0, -90.0, -20.0, 0.0, 20.0, 90.0, 200.0], &device);
    for (name, f) in [("silu", silu::<1> as fn(_) -> _), ("gelu", gelu::<1>)] {
        let got = f(tails.clone())
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        assert_eq!(got[3], 0.0, "{name}");
        assert!(
            got[0].abs() < 1e-30 && got[1].abs() < 1e-30,
            "{name} {got:?}"
        );
        assert_eq!(&got[4..], &[20.0, 90.0, 200.0], "{name}");
    }
}

/// The flex kernels against the reference bodies of the trait, on one and on several threads.
#[test]
fn flex_pointwise_kernels_match_the_reference_bodies() {
    use burn::backend::flex::FlexTensor;
    let device = Device::flex();
    let x = random([4, 16, 28, 28], 500, &device) * 9.0;
    let g = random([4, 16, 28, 28], 501, &device);
    let flex = |t: Tensor<4>| FlexTensor::from_data(t.into_data());
    for f in [Pointwise::Silu, Pointwise::Gelu] {
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let (fwd, bwd) = pool.install(|| {
                (
                    pointwise::forward(&flex(x.clone()), f),
                    pointwise::backward(&flex(x.clone()), &flex(g.clone()), f),
                )
            });
            let want_fwd = pointwise::reference_forward::<Flex>(flex(x.clone()), f);
            let want_bwd =
                pointwise::reference_backward::<Flex>(flex(x.clone()), flex(g.clone()), f);
            let v = |t: FlexTensor| t.into_data().try_to_vec::<f32>().expect("f32");
            assert_close(v(fwd), v(want_fwd), &format!("flex {f:?}"));
            assert_close(v(bwd), v(want_bwd), &format!("flex {f:?} backward"));
        }
    }
}
