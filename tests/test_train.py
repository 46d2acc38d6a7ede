"""Training: the loop learns, checkpoints round-trip, the script runs alone and under torchrun."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gpt2course import pretrained
from gpt2course.data import train_val_split
from gpt2course.errors import InputError
from gpt2course.model import GPT2
from gpt2course.train import (
    PresentTokensLoss,
    TrainConfig,
    evaluate,
    lr_at,
    read_train_config,
    save_checkpoint,
    shakespeare_tokens,
    train,
    unigram_entropy,
)
from gpt2course.weights import load_pretrained

# Small enough to train in about a second, big enough to be a real GPT-2.
TINY = dict(n_layer=1, n_head=2, n_embd=32, block_size=16, batch_size=8, eval_batches=2)
TINY_ARGS = ["--n-layer", "1", "--n-head", "2", "--n-embd", "32", "--block-size", "16",
             "--batch-size", "4", "--eval-batches", "2", "--eval-interval", "2"]


def run_module(args: list[str], cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=240)


def test_training_lowers_the_loss():
    cfg = TrainConfig(**TINY, steps=40, lr=1e-2, warmup_steps=5, eval_interval=20)
    seen = []
    model, history = train(cfg, progress=False, on_step=lambda step, h: seen.append(step))
    assert seen == list(range(1, 41))  # the callback ran after every step
    assert history.val_steps == [20, 40]
    first, last = history.train_loss[0], sum(history.train_loss[-5:]) / 5
    assert abs(first - math.log(50257)) < 0.3  # untrained: about uniform over the vocabulary
    assert last < first - 2.0
    assert history.val_loss[-1] < first - 2.0
    assert not model.training


def test_present_tokens_loss_is_the_full_vocabulary_loss():
    cfg = TrainConfig(**TINY)
    torch.manual_seed(0)
    model = GPT2(cfg.model_config())
    present = torch.tensor([3, 17, 198, 500, 50256])
    loss_of = PresentTokensLoss(model, present)
    with torch.no_grad():
        loss_of.absent_row.normal_(std=0.5)  # as if trained: absent logits are not 0
    loss_of.write_absent_rows()
    x = present[torch.randint(0, 5, (3, 16))]
    y = present[torch.randint(0, 5, (3, 16))]
    fast, full = loss_of(x, y), model(x, y)[1]
    assert fast.item() == pytest.approx(full.item(), rel=1e-5)
    assert 4 < full.item() < 20  # a real loss, not a degenerate one


def test_present_only_training_leaves_one_shared_row_for_absent_tokens():
    model, history = train(TrainConfig(**TINY, steps=3, eval_interval=3), progress=False)
    absent = ~torch.isin(torch.arange(50257), shakespeare_tokens())
    rows = model.wte.weight[absent]  # (n_absent, C)
    assert 30_000 < len(rows) and torch.equal(rows, rows[:1].expand_as(rows))
    assert rows[0].abs().sum() > 0  # the shared row was trained, not left at 0
    _, plain = train(TrainConfig(**TINY, steps=3, eval_interval=3, present_only=False),
                     progress=False)
    assert plain.train_loss[0] == pytest.approx(history.train_loss[0], abs=0.02)


def test_training_is_reproducible():
    cfg = TrainConfig(**TINY, steps=3, eval_interval=3)
    (m1, h1), (m2, h2) = train(cfg, progress=False), train(cfg, progress=False)
    assert h1.train_loss == h2.train_loss and h1.val_loss == h2.val_loss
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(p1, p2)


def test_reported_validation_loss_is_the_saved_models_full_vocabulary_loss():
    cfg = TrainConfig(**TINY, steps=4, eval_interval=2)
    model, history = train(cfg, progress=False)  # evaluates with the present-tokens loss
    _, val = train_val_split(shakespeare_tokens(), cfg.val_fraction)
    assert history.val_loss[-1] == pytest.approx(evaluate(model, val, cfg), rel=1e-5)


def test_evaluate_uses_the_same_windows_every_time():
    cfg = TrainConfig(**TINY, steps=1)
    model, _ = train(cfg, progress=False)
    val = shakespeare_tokens()[-5000:]
    assert evaluate(model, val, cfg) == evaluate(model, val, cfg)


def test_checkpoint_round_trip_through_load_pretrained(tmp_path):
    cfg = TrainConfig(**TINY, steps=2, eval_interval=2)
    model, history = train(cfg, progress=False)
    folder = save_checkpoint(model, tmp_path / "ckpt", train_config=cfg, history=history)
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json", "model.safetensors", "train_config.json"]
    loaded = load_pretrained(folder)
    assert loaded.config == cfg.model_config()
    idx = torch.randint(0, 50257, (2, cfg.block_size))
    assert torch.equal(loaded(idx)[0], model(idx)[0])
    assert read_train_config(folder) == cfg
    assert read_train_config(tmp_path) is None  # no train_config.json there


def test_a_save_cut_short_keeps_the_saved_model_whole(tmp_path, monkeypatch):
    """Each file is replaced whole or not at all (a notebook may load the course model while
    lesson 07 saves it): a save that fails halfway leaves the earlier checkpoint loadable
    and no temporary file behind."""
    from gpt2course import checkpoint
    from gpt2course.errors import CheckpointError

    cfg = TrainConfig(**TINY, steps=1)
    first, _ = train(cfg, progress=False)
    folder = save_checkpoint(first, tmp_path / "ckpt", train_config=cfg)
    second, _ = train(TrainConfig(**TINY, steps=1, seed=2), progress=False)

    def half_then_full_disk(state, path, metadata=None):
        Path(path).write_bytes(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint, "save_file", half_then_full_disk)
    with pytest.raises(CheckpointError, match="No space left"):
        save_checkpoint(second, folder, train_config=cfg)
    idx = torch.randint(0, 50257, (1, 8))
    assert torch.equal(load_pretrained(folder)(idx)[0], first(idx)[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json", "model.safetensors", "train_config.json"]


def test_unigram_entropy_and_learning_rate_schedule():
    assert unigram_entropy(torch.tensor([0, 1, 2, 3] * 5)) == pytest.approx(math.log(4))
    assert unigram_entropy(torch.tensor([7, 7, 7])) == 0.0
    cfg = TrainConfig(steps=100, lr=1e-3, min_lr=1e-4, warmup_steps=10)
    assert lr_at(0, cfg) == pytest.approx(1e-4)  # warmup starts small
    assert lr_at(9, cfg) == pytest.approx(1e-3)  # and reaches lr
    assert lr_at(99, cfg) == pytest.approx(1e-4)  # cosine ends at min_lr
    assert all(lr_at(s, cfg) >= lr_at(s + 1, cfg) for s in range(9, 99))


@pytest.mark.parametrize(("settings", "message"), [
    (dict(n_embd=30, n_head=4), "n_head"),
    (dict(steps=0), "steps"),
    (dict(batch_size=2.5), "batch_size"),
    (dict(lr=0.0), "lr must be a finite number > 0"),
    (dict(lr=float("nan")), "lr must be a finite number > 0"),
    (dict(lr=float("inf")), "lr must be a finite number > 0"),
    (dict(min_lr=float("nan")), "min_lr"),
    (dict(weight_decay=float("inf")), "weight_decay must be a finite number >= 0"),
    (dict(grad_clip=float("nan")), "grad_clip must be a finite number >= 0"),
    (dict(grad_clip=-1.0), "grad_clip must be a finite number >= 0"),
    (dict(val_fraction=float("nan")), "val_fraction"),
    (dict(dropout=float("nan")), "dropout"),
    (dict(steps=True), "steps"),
    (dict(seed=-1), "seed must be a whole number >= 0"),
    (dict(min_lr=1.0), "min_lr"),
    (dict(val_fraction=1.5), "val_fraction"),
    (dict(dropout=1.0), "dropout"),
    (dict(warmup_steps=-1), "warmup_steps"),
])
def test_bad_settings_are_refused_clearly(settings, message):
    with pytest.raises(InputError, match=message):
        TrainConfig(**settings)


def test_bad_device_and_too_little_data_are_refused():
    with pytest.raises(InputError, match="device"):
        train(TrainConfig(**TINY, steps=1, device="tpu"), progress=False)
    tiny_data = (torch.arange(100), torch.arange(10))
    with pytest.raises(InputError, match="validation data has 10 tokens"):
        train(TrainConfig(**TINY, steps=1), progress=False, data=tiny_data)


def test_script_trains_and_saves(tmp_path):
    result = run_module(["-m", "gpt2course.train", *TINY_ARGS, "--steps", "4",
                         "--out", "ckpt", "--no-progress"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"val loss \d+\.\d+ \(unigram baseline 6\.3\d+\)", result.stdout)
    assert load_pretrained(tmp_path / "ckpt").config.n_embd == 32


def test_script_reports_bad_settings_without_a_traceback(tmp_path):
    result = run_module(["-m", "gpt2course.train", "--n-embd", "30"], cwd=tmp_path)
    assert result.returncode == 2
    assert "gpt2course.train:" in result.stderr and "--n-head" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_torchrun_trains_with_ddp_on_two_cpu_processes(tmp_path):
    result = run_module(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                         "-m", "gpt2course.train", *TINY_ARGS, "--steps", "3",
                         "--device", "cpu", "--out", "ckpt", "--no-progress"], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    checksums = dict(re.findall(r"rank (\d) of 2: done, weights checksum (\S+)", result.stdout))
    assert sorted(checksums) == ["0", "1"]  # both ranks trained to the end
    assert checksums["0"] == checksums["1"]  # DDP kept the two copies identical
    assert "2 process(es), 8 windows" in result.stdout  # each rank drew its own 4 windows
    model = load_pretrained(tmp_path / "ckpt")  # rank 0 saved a loadable checkpoint
    total = sum(p.double().sum().item() for p in model.parameters())
    assert f"{total:.12e}" == checksums["0"]


def test_course_model_trains_once_then_loads(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GPT2COURSE_NO_PRETRAINED", "1")
    monkeypatch.setenv("GPT2COURSE_CACHE_DIR", str(tmp_path))
    cfg = TrainConfig(**TINY, steps=2, eval_interval=2)
    first, line1 = pretrained.course_model(config=cfg)
    printed1 = capsys.readouterr().out.strip().splitlines()[-1]
    assert (tmp_path / "shakespeare-gpt2" / "model.safetensors").is_file()

    def no_training(*args, **kwargs):
        raise AssertionError("the saved model should have been loaded, not trained again")

    monkeypatch.setattr(pretrained, "train", no_training)
    second, line2 = pretrained.course_model(config=cfg)
    printed2 = capsys.readouterr().out.strip()
    assert line1 == line2 == printed1 == printed2  # notebook outputs do not depend on the cache
    assert "GPT2COURSE_NO_PRETRAINED" in line1 and "Tiny Shakespeare" in line1
    assert not second.training
    for p1, p2 in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(p1, p2)
    # Other settings, or a damaged file, mean the saved model is not used.
    with pytest.raises(AssertionError, match="loaded, not trained"):
        pretrained.course_model(config=TrainConfig(**TINY, steps=3), verbose=False)
    (tmp_path / "shakespeare-gpt2" / "model.safetensors").write_bytes(b"broken")
    with pytest.raises(AssertionError, match="loaded, not trained"):
        pretrained.course_model(config=cfg, verbose=False)


def test_course_model_without_internet_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv("GPT2COURSE_NO_PRETRAINED", raising=False)
    monkeypatch.setenv("GPT2COURSE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(pretrained, "_cached_openai_folder", lambda: None)
    monkeypatch.setattr(pretrained, "hub_reachable", lambda: False)
    model, line = pretrained.course_model(config=TrainConfig(**TINY, steps=1), verbose=False)
    assert line.startswith("No internet and no cached copy of OpenAI's GPT-2")
    assert model.config.n_embd == 32


_TRAIN_ONCE_SCRIPT = """
import sys, torch
from gpt2course import pretrained
from gpt2course.train import TrainConfig
real_train = pretrained.train
def counted_train(config):
    print("TRAINED", flush=True)
    return real_train(config)
pretrained.train = counted_train
model = pretrained.shakespeare_model(TrainConfig(**{tiny}, steps=20, eval_interval=20))
print("checksum", sum(p.double().sum().item() for p in model.parameters()))
"""


@pytest.mark.slow
def test_course_model_is_trained_once_when_two_processes_ask_at_once(tmp_path):
    # Two notebooks opened together on JupyterHub (or two test workers) share one cache:
    # one trains, the other waits for its checkpoint instead of training too or reading
    # a half-written file.
    env = {**os.environ, "GPT2COURSE_NO_PRETRAINED": "1", "GPT2COURSE_CACHE_DIR": str(tmp_path)}
    script = _TRAIN_ONCE_SCRIPT.format(tiny=TINY)
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, cwd=tmp_path, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    stdout = [out for out, _ in outs]
    assert sum(out.count("TRAINED") for out in stdout) == 1
    checksums = {re.search(r"checksum (\S+)", out).group(1) for out in stdout}
    assert len(checksums) == 1  # both hold the same model
