//! The layer norm kernel against its composition of Burn's primitives, on every instruction set
//! the processor has, and against Burn's own `LayerNorm` module with its gradients.

use burn::backend::Flex;
use burn::module::Param;
use burn::nn::LayerNormConfig;
use burn::prelude::*;
use burn::tensor::Distribution;

use super::*;

fn flex(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
}

fn values(t: FlexTensor) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32")
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

/// Deterministic values in [offset - scale, offset + scale).
fn spread(n: usize, seed: usize, offset: f32, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| offset + (((i + seed) * 7919 % 2003) as f32 / 1001.5 - 1.0) * scale)
        .collect()
}

#[test]
fn every_pass_matches_burns_primitives_on_every_path() {
    // Rows shorter than the lanes, the Transformer's width, a ragged width with an offset mean
    // (the variance must be taken about the mean), and more rows than one block holds.
    for (rows, d, offset, eps) in [
        (3, 5, 0.0, 1e-5),
        (9, 128, 0.5, 1e-5),
        (2 * BLOCK / 37 + 5, 37, 40.0, 1e-3),
    ] {
        let shape = [rows, 1, d];
        let x = spread(rows * d, d, offset, 3.0);
        let g = spread(rows * d, 3, 0.0, 1.0);
        let gamma = spread(d, 7, 1.0, 0.5);
        let beta = spread(d, 11, 0.0, 0.5);
        let want_y = values(reference_forward::<Flex>(
            flex(x.clone(), &shape),
            flex(gamma.clone(), &[d]),
            flex(beta.clone(), &[d]),
            eps,
        ));
        let want_dx = values(reference_backward_x::<Flex>(
            flex(x.clone(), &shape),
            flex(gamma.clone(), &[d]),
            flex(g.clone(), &shape),
            eps,
        ));
        let want_dgamma = values(reference_backward_gamma::<Flex>(
            flex(x.clone(), &shape),
            flex(g.clone(), &shape),
            eps,
        ));
        for isa in Isa::supported() {
            let mut y = vec![0f32; x.len()];
            forward_rows_on(isa, &x, &mut y, &gamma, &beta, eps as f32);
            let mut dx = vec![0f32; x.len()];
            backward_x_rows_on(isa, &x, &g, &mut dx, &gamma, eps as f32);
            let mut dgamma = vec![0f32; d];
            backward_gamma_rows_on(isa, &x, &g, &mut dgamma, eps as f32);
            let scale = want_dgamma.iter().fold(1f32, |m, v| m.max(v.abs()));
            assert!(max_diff(&y, &want_y) < 2e-5, "{isa}, d {d}: output");
            assert!(
                max_diff(&dx, &want_dx) < 2e-5,
                "{isa}, d {d}: input gradient"
            );
            assert!(
                max_diff(&dgamma, &want_dgamma) < 2e-6 * scale,
                "{isa}, d {d}: gamma gradient"
            );
        }
        let threaded_y = values(forward(&flex(x.clone(), &shape), &gamma, &beta, eps));
        let threaded_dx = values(backward_x(
            &flex(x.clone(), &shape),
            &gamma,
            &flex(g.clone(), &shape),
            eps,
        ));
        let threaded_dgamma = values(backward_gamma(&flex(x, &shape), &flex(g, &shape), eps));
        assert!(max_diff(&threaded_y, &want_y) < 2e-5);
        assert!(max_diff(&threaded_dx, &want_dx) < 2e-5);
        let scale = want_dgamma.iter().fold(1f32, |m, v| m.max(v.abs()));
        assert!(max_diff(&threaded_dgamma, &want_dgamma) < 2e-6 * scale);
    }
}

#[test]
fn the_tensor_path_matches_burns_layer_norm_and_its_gradients() {
    let device = Device::flex().autodiff();
    device.seed(5);
    for eps in [1e-5, 0.1] {
        let mut norm = LayerNormConfig::new(24).with_epsilon(eps).init(&device);
        // Parameters off ones and zeros, so that gamma and beta matter.
        let normal = |mean, std| Tensor::random([24], Distribution::Normal(mean, std), &device);
        norm.gamma = Param::from_tensor(normal(1.0, 0.3));
        norm.beta = Some(Param::from_tensor(normal(0.0, 0.3)));
        let x =
            Tensor::<3>::random([4, 6, 24], Distribution::Normal(2.0, 3.0), &device).require_grad();
        let upstream = Tensor::<3>::random([4, 6, 24], Distribution::Normal(0.0, 1.0), &device);
        let ours = crate::kernels::layer_norm(&norm, x.clone(), eps);
        let burns = norm.forward(x.clone());
        let to_vec = |t: Tensor<3>| t.into_data().try_to_vec::<f32>().unwrap();
        assert!(
            max_diff(&to_vec(ours.clone()), &to_vec(burns.clone())) < 2e-5,
            "eps {eps}: output"
        );
        let g_ours = (ours * upstream.clone()).sum().backward();
        let g_burn = (burns * upstream).sum().backward();
        let grad1 = |t: &Tensor<1>, g| t.grad(g).unwrap().into_data().try_to_vec::<f32>().unwrap();
        let dx = |g| x.grad(g).unwrap().into_data().try_to_vec::<f32>().unwrap();
        assert!(
            max_diff(&dx(&g_ours), &dx(&g_burn)) < 5e-5,
            "eps {eps}: input gradient"
        );
        let gamma = norm.gamma.val();
        assert!(
            max_diff(&grad1(&gamma, &g_ours), &grad1(&gamma, &g_burn)) < 5e-5,
            "eps {eps}: gamma gradient"
        );
        let beta = norm.beta.as_ref().unwrap().val();
        assert!(
            max_diff(&grad1(&beta, &g_ours), &grad1(&beta, &g_burn)) < 5e-5,
            "eps {eps}: beta gradient"
        );
    }
}
