"""`dae.load(...).denoise` against `dae denoise`, `.encode` against `dae probe --codes`, the
corruptions, and the errors."""

import pathlib
import subprocess

import numpy as np
import pytest
from PIL import Image

import dae
from conftest import DAE_BIN, HELD_OUT_START, dae_cli, fashion_mnist, held_out


def to_bytes(x: np.ndarray) -> np.ndarray:
    """Pixels as `dae denoise` writes them: clamped to [0, 1], times 255 in float32, rounded
    half away from zero (Rust's f32::round), as uint8."""
    scaled = np.clip(x, 0, 1).astype(np.float32) * np.float32(255.0)
    whole = np.floor(scaled)
    return (whole + (scaled - whole >= 0.5)).astype(np.uint8)


def cli_denoise(run: pathlib.Path, images: np.ndarray, folder: pathlib.Path) -> np.ndarray:
    """`dae denoise` of uint8 images (N, H, W), each through a PNG file; returns its PNGs' bytes."""
    (folder / "in").mkdir(parents=True)
    paths = []
    for i, image in enumerate(images):
        path = folder / "in" / f"{i:03}.png"
        Image.fromarray(image, mode="L").save(path)
        paths.append(str(path))
    dae_cli("denoise", str(run), *paths, "-o", str(folder / "out"))
    return np.stack([np.array(Image.open(folder / "out" / f"{i:03}.png")) for i in range(len(paths))])


@pytest.mark.parametrize("side", [28, 26])
def test_conv_denoise_equals_dae_denoise(cli_conv_run: pathlib.Path, tmp_path: pathlib.Path, side: int) -> None:
    # 26x26 goes through the padding to 28x28 and the crop back.
    images = fashion_mnist()[HELD_OUT_START : HELD_OUT_START + 24, :side, :side]
    want = cli_denoise(cli_conv_run, images, tmp_path)
    model = dae.load(cli_conv_run)
    x = (images.astype(np.float32) / np.float32(255.0))[:, None]
    got = model.denoise(x)
    assert got.shape == x.shape and got.dtype == np.float32
    assert np.array_equal(to_bytes(got[:, 0]), want)
    # The float outputs are those of one image at a time (the CLI's path), bit for bit.
    one_by_one = model.denoise(x, batch_size=1)
    assert np.array_equal(got.view(np.uint32), one_by_one.view(np.uint32))


def test_mlp_denoise_equals_dae_denoise(cli_mlp_run: pathlib.Path, tmp_path: pathlib.Path) -> None:
    images = fashion_mnist()[HELD_OUT_START : HELD_OUT_START + 24]
    want = cli_denoise(cli_mlp_run, images, tmp_path)
    model = dae.load(cli_mlp_run)
    x = images.astype(np.float32) / np.float32(255.0)
    # One image per product is the CLI's arithmetic; flat rows are the run's 28x28 images.
    one_by_one = model.denoise(x.reshape(24, 784), batch_size=1)
    assert one_by_one.shape == (24, 784)
    assert np.array_equal(to_bytes(one_by_one.reshape(24, 28, 28)), want)
    # Larger batches group the matrix products' sums differently: the last bits move.
    batched = model.denoise(x[:, None])
    assert np.abs(batched.reshape(24, 784) - one_by_one).max() < 1e-6


def test_encode_equals_dae_probe_codes(cli_conv_run: pathlib.Path, tmp_path: pathlib.Path) -> None:
    codes_file = tmp_path / "codes.npy"
    dae_cli("probe", str(cli_conv_run), "--no-baselines", "--test-limit", "40", "--codes", str(codes_file))
    want = np.load(codes_file)
    got = dae.load(cli_conv_run).encode(held_out(40))
    assert got.shape == want.shape == (40, want.shape[1]) and got.dtype == np.float32
    assert np.array_equal(got, want)


def test_corrupt_is_deterministic_and_marks_what_it_changed() -> None:
    x = held_out(8)
    noisy, mask = dae.corrupt(x, "mask:keep=0.7", seed=3)
    assert noisy.shape == x.shape and noisy.dtype == np.float32 and mask.dtype == np.bool_
    again, again_mask = dae.corrupt(x, "mask:keep=0.7", seed=3)
    assert np.array_equal(noisy, again) and np.array_equal(mask, again_mask)
    other, _ = dae.corrupt(x, "mask:keep=0.7", seed=4)
    assert not np.array_equal(noisy, other)
    # Outside M, x̃ is x; inside, masking hid the pixel (0).
    assert np.array_equal(noisy[~mask], x[~mask]) and np.all(noisy[mask] == 0)
    assert 0.2 < mask.mean() < 0.4
    # Flat samples, a mixture, and Gaussian noise that touches every entry.
    flat, flat_mask = dae.corrupt(x.reshape(8, 784), "0.5*gaussian:sigma=0.1+0.5*mask:keep=0.5", seed=0)
    assert flat.shape == (8, 784) and flat_mask.shape == (8, 784)
    _, every = dae.corrupt(x, "gaussian:sigma=0.3", seed=0)
    assert every.all()


def test_errors_carry_daes_messages(cli_conv_run: pathlib.Path, tmp_path: pathlib.Path) -> None:
    model = dae.load(cli_conv_run)
    assert issubclass(dae.DaeError, Exception)
    with pytest.raises(dae.DaeError, match="expected a float32 NumPy array, got an array of dtype float64"):
        model.denoise(np.zeros((2, 1, 28, 28)))
    with pytest.raises(dae.DaeError, match=r"takes images of 1 channel\(s\), got 3"):
        model.denoise(np.zeros((2, 3, 28, 28), np.float32))
    with pytest.raises(dae.DaeError, match=r"expected images of shape \(N, 1, H, W\), or \(N, 784\)"):
        model.encode(np.zeros((2, 100), np.float32))
    with pytest.raises(dae.DaeError, match="needs height and width divisible by 4, got 26x26"):
        model.encode(np.zeros((2, 1, 26, 26), np.float32))
    with pytest.raises(dae.DaeError, match="no pixel"):
        model.denoise(np.zeros((0, 1, 28, 28), np.float32))
    # A bad spec: the message `dae train --noise` prints.
    with pytest.raises(dae.DaeError) as error:
        dae.corrupt(held_out(1), "gaussian:sigma=-1")
    cli = subprocess.run(
        [str(DAE_BIN), "train", "--noise", "gaussian:sigma=-1", "--out", str(tmp_path / "x")],
        capture_output=True,
        text=True,
    )
    assert cli.returncode != 0 and str(error.value) in cli.stderr
    with pytest.raises(dae.DaeError, match="config.json"):
        dae.load(tmp_path)
