"""`dae.train`: the same run directory as `dae train` with the same settings, the progress
callback, and Ctrl-C stopping a run that then resumes to the numbers of an uninterrupted one."""

import json
import os
import pathlib
import signal
import struct
import warnings
from typing import Any, Dict, List

import numpy as np
import pytest

import dae
from conftest import metrics_without_timing

TINY: Dict[str, Any] = {"epochs": 1, "train_limit": 256, "val_limit": 64}
TWO_EPOCHS: Dict[str, Any] = {**TINY, "epochs": 2}


def same_files(a: pathlib.Path, b: pathlib.Path, names: List[str]) -> None:
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def safetensors(path: pathlib.Path) -> Dict[str, np.ndarray]:
    """The f32 tensors of a `model.safetensors` file, by name."""
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_len])
    data = raw[8 + header_len :]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        assert entry["dtype"] == "F32", (name, entry["dtype"])
        start, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], np.float32).reshape(entry["shape"])
    return tensors


def cpu_paths() -> str:
    """The vector extensions of this processor that dae's kernels choose between."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next(line for line in cpuinfo if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown processor"
    return ", ".join(f for f in ("avx512f", "avx2", "fma") if f in flags) or "no AVX"


def same_run_as_cli(run: pathlib.Path, cli: pathlib.Path, names: List[str]) -> None:
    """The package's run against the binary's, trained with the same settings.

    The configuration must be the same bytes. The rest is expected to be the same bytes too,
    and is on every machine measured here; where the two processes' weights differ, they may
    only differ in their last bits (the sums of the same products in another order): the test
    then checks every weight and metric within float rounding and reports the difference as a
    warning, so that it is seen instead of hidden."""
    assert (run / "config.json").read_bytes() == (cli / "config.json").read_bytes()
    different = [n for n in names if (run / n).read_bytes() != (cli / n).read_bytes()]
    ours, theirs = metrics_without_timing(run), metrics_without_timing(cli)
    if not different and ours == theirs:
        return
    mine, binary = safetensors(run / "model.safetensors"), safetensors(cli / "model.safetensors")
    assert mine.keys() == binary.keys()
    worst = max(float(np.abs(mine[k] - binary[k]).max()) for k in mine)
    assert worst <= 1e-5, f"weights differ by up to {worst:.3g} ({cpu_paths()})"
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.keys() == b.keys()
        for key, value in a.items():
            if isinstance(value, float):
                assert abs(value - b[key]) <= 1e-4 * max(1.0, abs(value)), (key, value, b[key])
            else:
                assert value == b[key], key
    warnings.warn(
        f"dae.train and `dae train` differ in the last bits on this machine ({cpu_paths()}): "
        f"files {different}, weights by up to {worst:.3g}"
    )


def test_train_writes_the_run_dae_train_writes(cli_conv_run: pathlib.Path, tmp_path: pathlib.Path) -> None:
    run = dae.train(TINY, out=tmp_path / "py")
    assert pathlib.Path(run) == tmp_path / "py"
    same_run_as_cli(run, cli_conv_run, ["model.bpk", "model.safetensors", "diagnostics.json", "grid.png"])


def test_mlp_settings_map_onto_the_flags(cli_mlp_run: pathlib.Path, tmp_path: pathlib.Path) -> None:
    run = dae.train({"model": "mlp", **TINY}, out=str(tmp_path / "py"))
    same_run_as_cli(run, cli_mlp_run, ["model.bpk", "model.safetensors"])


def test_progress_is_called_per_epoch_and_per_step(tmp_path: pathlib.Path) -> None:
    events: List[Dict[str, Any]] = []
    dae.train(TWO_EPOCHS, out=tmp_path / "run", progress=events.append, progress_steps=True)
    kinds = [e["event"] for e in events]
    # 256 images in batches of 64: four steps per epoch.
    assert kinds == (["epoch_start"] + ["step"] * 4 + ["epoch_end"]) * 2
    ends = [e for e in events if e["event"] == "epoch_end"]
    assert [e["epoch"] for e in ends] == [1, 2]
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    for end, line in zip(ends, lines):
        assert {k: v for k, v in end.items() if k != "event"} == json.loads(line)
    assert all(e["loss"] > 0 for e in events if e["event"] == "step")
    only_ends: List[Dict[str, Any]] = []
    dae.train(TINY, out=tmp_path / "quiet", progress=only_ends.append)
    assert [e["event"] for e in only_ends] == ["epoch_end"]


def interrupt_at(epoch: int, step: int, how: str) -> Any:
    """A progress callback that interrupts the run at `step` of `epoch`: by raising
    KeyboardInterrupt itself, or by sending the process SIGINT (Ctrl-C)."""
    seen = {"epoch": 0, "step": 0}

    def progress(event: Dict[str, Any]) -> None:
        if event["event"] == "epoch_start":
            seen.update(epoch=event["epoch"], step=0)
        elif event["event"] == "step":
            seen["step"] += 1
            if (seen["epoch"], seen["step"]) == (epoch, step):
                if how == "raise":
                    raise KeyboardInterrupt
                os.kill(os.getpid(), signal.SIGINT)

    return progress


@pytest.mark.parametrize("how", ["raise", "sigint"])
def test_ctrl_c_keeps_the_checkpoint_and_resume_finishes_the_run(tmp_path: pathlib.Path, how: str) -> None:
    straight = dae.train(TWO_EPOCHS, out=tmp_path / "straight")
    run = tmp_path / "stopped"
    with pytest.raises(KeyboardInterrupt) as stopped:
        dae.train(TWO_EPOCHS, out=run, progress=interrupt_at(2, 2, how), progress_steps=True)
    # The loop's own message, as the interrupt's cause, names the checkpoint kept.
    cause = stopped.value.__cause__
    assert isinstance(cause, dae.DaeError)
    assert "epoch 2 after 2 of 4 steps" in str(cause) and "checkpoint of epoch 1" in str(cause)
    assert [p.name for p in (run / "checkpoint").iterdir()] == ["epoch-000001"]
    assert not (run / "model.bpk").exists()
    assert len(metrics_without_timing(run)) == 1

    dae.train(resume=run)
    same_files(run, straight, ["model.bpk", "model.safetensors", "diagnostics.json"])
    assert metrics_without_timing(run) == metrics_without_timing(straight)


def test_a_callback_error_stops_the_run_and_is_raised(tmp_path: pathlib.Path) -> None:
    def fail(event: Dict[str, Any]) -> None:
        raise ValueError("from the callback")

    with pytest.raises(ValueError, match="from the callback"):
        dae.train(TWO_EPOCHS, out=tmp_path / "run", progress=fail)
    # The callback ran at the end of epoch 1, after its checkpoint; epoch 2 never ran.
    assert [p.name for p in (tmp_path / "run" / "checkpoint").iterdir()] == ["epoch-000001"]


def test_settings_errors_carry_daes_messages(cli_conv_run: pathlib.Path, tmp_path: pathlib.Path) -> None:
    with pytest.raises(dae.DaeError, match="unknown setting `epoch`"):
        dae.train(epoch=1)
    with pytest.raises(dae.DaeError, match="both in the config dict and as a keyword"):
        dae.train({"epochs": 1}, epochs=2)
    with pytest.raises(dae.DaeError, match="`epochs` must be an integer"):
        dae.train(epochs="many")
    with pytest.raises(dae.DaeError, match="unknown model `vae`"):
        dae.train(model="vae", out=tmp_path / "a")
    with pytest.raises(dae.DaeError, match="noise spec `gaussian:sgma=1`"):
        dae.train(noise="gaussian:sgma=1", out=tmp_path / "b")
    with pytest.raises(dae.DaeError, match="unknown learning-rate schedule `linear`"):
        dae.train(lr_schedule="linear", out=tmp_path / "c")
    with pytest.raises(dae.DaeError, match="seed cannot change a run being resumed"):
        dae.train(resume=cli_conv_run, seed=1)
    with pytest.raises(dae.DaeError, match="--resume"):
        dae.train(TINY, out=cli_conv_run)
