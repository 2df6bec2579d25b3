use super::*;

fn t(v: &[f32], device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), device)
}

fn images(n: usize, seed: u64, device: &Device) -> Tensor<4> {
    use rand::Rng as _;
    let mut r = crate::seed::rng(seed, crate::seed::Purpose::Init, 0);
    let v: Vec<f32> = (0..n * 28 * 28).map(|_| r.gen::<f32>()).collect();
    Tensor::from_data(TensorData::new(v, [n, 1, 28, 28]), device)
}

#[test]
fn closed_form_values() {
    let d = Device::flex();
    let x_hat = t(&[0.5, 1.0, 0.0, 0.25], &d);
    let x = t(&[0.0, 1.0, 1.0, 0.25], &d);
    let v = |l: Tensor<1>| l.into_scalar::<f32>();
    assert!((v(Loss::Mse.compute(x_hat.clone(), x.clone())) - 1.25 / 4.0).abs() < 1e-7);
    assert!((v(Loss::L1.compute(x_hat.clone(), x.clone())) - 1.5 / 4.0).abs() < 1e-7);
    let mix = Loss::parse("2*mse+0.5*l1").unwrap();
    let want = 2.0 * 1.25 / 4.0 + 0.5 * 1.5 / 4.0;
    assert!((v(mix.compute(x_hat.clone(), x.clone())) - want).abs() < 1e-6);
    let mask = t(&[1.0, 0.0, 1.0, 0.0], &d);
    let masked = Loss::Mse.compute_masked(x_hat, x, mask, 2);
    assert!((v(masked) - 1.25 / 2.0).abs() < 1e-7);
}

#[test]
fn unmasked_entries_get_no_gradient() {
    let d = Device::flex().autodiff();
    let x_hat = t(&[0.5, 0.9, 0.1, 0.3], &d).require_grad();
    let x = t(&[0.0, 0.0, 1.0, 1.0], &d);
    let mask = t(&[1.0, 0.0, 1.0, 0.0], &d);
    let grads = Loss::Mse
        .compute_masked(x_hat.clone(), x, mask, 2)
        .backward();
    let g = x_hat
        .grad(&grads)
        .expect("gradient")
        .into_data()
        .try_to_vec::<f32>()
        .expect("f32");
    // d/dx̂ (1/2) Σ_M (x̂ - x)² = (x̂ - x) on M, 0 elsewhere.
    let want = [0.5, 0.0, -0.9, 0.0];
    for (a, b) in g.iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{g:?}");
    }
}

#[test]
fn specs_parse_and_print_back() {
    assert_eq!(Loss::parse("mse").unwrap(), Loss::Mse);
    assert_eq!(Loss::parse(" msssim ").unwrap(), Loss::MsSsim);
    let mix = Loss::parse("0.84*ssim + 0.16*l1").unwrap();
    assert_eq!(mix, Loss::Mix(vec![(0.84, Loss::Ssim), (0.16, Loss::L1)]));
    assert_eq!(mix.to_string(), "0.84*ssim+0.16*l1");
    assert_eq!(
        Loss::parse("3*mse").unwrap(),
        Loss::Mix(vec![(3.0, Loss::Mse)])
    );
    assert_eq!(Loss::parse("ssim+l1").unwrap().to_string(), "1*ssim+1*l1");
    for spec in [
        "mse",
        "l1",
        "ssim",
        "msssim",
        "0.84*ssim+0.16*l1",
        "1e-3*l1+mse",
    ] {
        let l = Loss::parse(spec).unwrap();
        assert_eq!(Loss::parse(&l.to_string()).unwrap(), l, "{spec}");
    }
}

#[test]
fn bad_specs_name_the_bad_part() {
    for (spec, part) in [
        ("huber", "unknown loss `huber`"),
        ("", "empty term"),
        ("mse+", "empty term"),
        ("x*mse", "weight `x` is not a number"),
        ("-1*mse", "weight `-1` must be a positive number"),
        ("0*l1", "weight `0` must be a positive number"),
        ("inf*l1", "must be a positive number"),
        ("mse+0.5*mse", "`mse` appears twice"),
    ] {
        let e = Loss::parse(spec).unwrap_err().to_string();
        assert!(
            e.contains(part) && e.contains(&format!("`{spec}`")),
            "{spec}: {e}"
        );
    }
}

#[test]
fn old_configs_load_and_new_ones_round_trip() {
    let l: Loss = serde_json::from_str("\"mse\"").unwrap();
    assert_eq!(l, Loss::Mse);
    let l: Loss = serde_json::from_str("\"l1\"").unwrap();
    assert_eq!(l, Loss::L1);
    let mix = Loss::parse("0.84*ssim+0.16*l1").unwrap();
    let json = serde_json::to_string(&mix).unwrap();
    assert_eq!(json, "\"0.84*ssim+0.16*l1\"");
    assert_eq!(serde_json::from_str::<Loss>(&json).unwrap(), mix);
    assert!(serde_json::from_str::<Loss>("\"bogus\"").is_err());
}

#[test]
fn ssim_losses_of_an_image_against_itself_are_zero() {
    let d = Device::flex();
    let x = images(2, 3, &d);
    for spec in ["ssim", "msssim", "0.84*ssim+0.16*l1"] {
        let l = Loss::parse(spec).unwrap();
        let v = l.compute(x.clone(), x.clone()).into_scalar::<f32>();
        assert!(v.abs() < 1e-5, "{spec}: {v}");
    }
}

#[test]
fn ssim_losses_have_finite_gradients() {
    let d = Device::flex().autodiff();
    // Includes a constant (all-zero) image, where SSIM's variances vanish.
    let x_hat =
        Tensor::cat(vec![images(2, 4, &d), Tensor::zeros([1, 1, 28, 28], &d)], 0).require_grad();
    let x = images(3, 5, &d);
    for spec in ["ssim", "msssim", "0.84*ssim+0.16*l1", "0.5*msssim+0.5*mse"] {
        let l = Loss::parse(spec).unwrap();
        let loss = l.compute(x_hat.clone(), x.clone());
        let value = loss.clone().into_scalar::<f32>();
        assert!(value.is_finite() && value > 0.0, "{spec}: {value}");
        let grads = loss.backward();
        let g = x_hat.grad(&grads).expect("gradient");
        let g = g.into_data().try_to_vec::<f32>().unwrap();
        assert!(g.iter().all(|v| v.is_finite()), "{spec}");
        assert!(g.iter().any(|&v| v != 0.0), "{spec}");
    }
}

#[test]
fn elementwise_losses_are_known() {
    assert!(Loss::parse("0.5*mse+l1").unwrap().is_elementwise());
    assert!(!Loss::parse("0.84*ssim+0.16*l1").unwrap().is_elementwise());
    assert!(!Loss::MsSsim.is_elementwise());
}
