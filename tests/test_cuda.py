"""The library on a GPU: the scratch layers against cuDNN, the hand-written BPTT and the Jacobian norms against their CPU
results, chapter 7's training loop and chapter 8's language model trained, sampled and checkpointed on CUDA.

Every test is skipped where CUDA is not available, so the CPU-only suite stays green. Two switches, through the
environment variable RNN_LIT_TEST_DEVICE:
    RNN_LIT_TEST_DEVICE=cpu    run the same checks on the CPU (to test these tests on a machine without a GPU)
    RNN_LIT_TEST_DEVICE=cuda   a machine without a usable GPU is an error, not a skip
Sizes are tiny: the whole file takes seconds on a GPU. TF32 is off, so float32 matrix products are float32.
"""
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

REQUESTED = os.environ.get('RNN_LIT_TEST_DEVICE') or None
pytestmark = pytest.mark.skipif(REQUESTED is None and not torch.cuda.is_available(),
                                reason='CUDA is not available (RNN_LIT_TEST_DEVICE=cpu runs these checks on the CPU)')

F32 = dict(rtol=1e-4, atol=1e-5)  # float32 on two backends (cuDNN / cuBLAS against our loops): rounding only
F64 = dict(rtol=1e-9, atol=1e-11)


@pytest.fixture(scope='module')
def device():
    "The device under test: RNN_LIT_TEST_DEVICE, else CUDA (through the library's own `get_device`)."
    from rnn_lit.core import get_device
    dev = get_device(REQUESTED)  # None -> 'cuda' here (the skip above ran otherwise); a missing device raises
    if REQUESTED is None: assert dev.type == 'cuda', dev
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False; torch.backends.cudnn.allow_tf32 = False
    if dev.type == 'cuda': print(f'\ndevice: {torch.cuda.get_device_name(dev)}, torch {torch.__version__}, '
                                 f'cuDNN {torch.backends.cudnn.version()}')
    yield dev
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn


def tol(dtype): return F64 if dtype == torch.float64 else F32


def on(t, device):
    "Whether tensor `t` is on `device` (cuda and cuda:0 count as the same)."
    return t.device.type == device.type


# --- chapters 2 and 6: the scratch layers against torch's (cuDNN) modules on the device ---------------------------------

CONFIGS = [  # (num_layers, batch_first, batched, dtype, extra constructor arguments of the RNN)
    (1, False, True, torch.float32, {}),
    (2, True, True, torch.float32, {'nonlinearity': 'relu'}),
    (2, False, False, torch.float64, {}),
    (1, True, True, torch.float64, {'nonlinearity': 'relu'}),
]

@pytest.mark.parametrize('cell', ['rnn', 'lstm', 'gru'])
@pytest.mark.parametrize('num_layers,batch_first,batched,dtype,extra', CONFIGS,
                         ids=[f'layers{c[0]}-{"bf" if c[1] else "lnh"}-{"batched" if c[2] else "unbatched"}-{str(c[3])[6:]}'
                              for c in CONFIGS])
def test_scratch_layers_match_cudnn(device, cell, num_layers, batch_first, batched, dtype, extra):
    from rnn_lit.forward import ScratchRNN
    from rnn_lit.gated import ScratchLSTM, ScratchGRU
    Torch, Scratch = {'rnn': (nn.RNN, ScratchRNN), 'lstm': (nn.LSTM, ScratchLSTM), 'gru': (nn.GRU, ScratchGRU)}[cell]
    kwargs = dict(num_layers=num_layers, batch_first=batch_first, **(extra if cell == 'rnn' else {}))
    torch.manual_seed(0)
    ref = Torch(5, 16, **kwargs)
    ours = Scratch(5, 16, **kwargs)
    ours.load_state_dict(ref.state_dict())  # on the CPU, then both moved
    ref, ours = ref.to(device, dtype), ours.to(device, dtype)
    assert all(on(p, device) and p.dtype == dtype for p in ours.parameters())
    L, N, H = 9, 3, 16
    shape = ((N, L, 5) if batch_first else (L, N, 5)) if batched else (L, 5)
    state_shape = (num_layers, N, H) if batched else (num_layers, H)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(shape, generator=g, dtype=dtype)
    states = [0.5 * torch.randn(state_shape, generator=g, dtype=dtype) for _ in range(2 if cell == 'lstm' else 1)]
    out_shape = shape[:-1] + (H,)
    g_out = torch.randn(out_shape, generator=g, dtype=dtype)
    g_states = [torch.randn(state_shape, generator=g, dtype=dtype) for _ in states]

    def run(module):
        "Outputs and the gradients of every parameter, the input and the initial state(s) of one forward + backward."
        xi = x.to(device).detach().requires_grad_()  # a fresh leaf for each run (on the CPU .to() returns x itself)
        si = [s.to(device).detach().requires_grad_() for s in states]
        out, h_n = module(xi, tuple(si) if cell == 'lstm' else si[0])
        finals = list(h_n) if cell == 'lstm' else [h_n]
        loss = (out * g_out.to(device)).sum() + sum((f * gf.to(device)).sum() for f, gf in zip(finals, g_states))
        loss.backward()
        grads = {n: p.grad for n, p in module.named_parameters()}
        return out, finals, grads, xi.grad, [s.grad for s in si]

    out_r, fin_r, grads_r, dx_r, ds_r = run(ref)
    out_o, fin_o, grads_o, dx_o, ds_o = run(ours)
    assert on(out_o, device) and out_o.dtype == dtype and out_o.shape == out_r.shape == out_shape
    t = tol(dtype)
    if dtype == torch.float32:
        # cuDNN's own float32 rounding can exceed F32 on an element (seen once: 3.6e-5 on an RNN weight gradient), so
        # ours is held to F32 against a float64 reference on the CPU, and cuDNN and ours agree to float32 accuracy.
        ref64 = Torch(5, 16, **kwargs).double(); ref64.load_state_dict(ref.state_dict())
        xi, si = x.detach().double().requires_grad_(), [s.detach().double().requires_grad_() for s in states]
        out64, h64 = ref64(xi, tuple(si) if cell == 'lstm' else si[0])
        fin64 = list(h64) if cell == 'lstm' else [h64]
        (out64 * g_out.double()).sum().add(sum((f * gf.double()).sum() for f, gf in zip(fin64, g_states))).backward()
        exact = [out64, *fin64, *(p.grad for p in ref64.parameters()), xi.grad, *(s.grad for s in si)]
        mine = [out_o, *fin_o, *grads_o.values(), dx_o, *ds_o]
        for a, b in zip(mine, exact): torch.testing.assert_close(a.double().cpu(), b, **F32)
        t = dict(rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(out_o, out_r, **t)
    for a, b in zip(fin_o, fin_r): torch.testing.assert_close(a, b, **t)
    assert grads_o.keys() == grads_r.keys() and len(grads_o) == num_layers * 4
    for name in grads_r:
        assert on(grads_o[name], device), name
        torch.testing.assert_close(grads_o[name], grads_r[name], **t, msg=lambda m: f'{name}: {m}')
    torch.testing.assert_close(dx_o, dx_r, **t)
    for a, b in zip(ds_o, ds_r): torch.testing.assert_close(a, b, **t)


def test_scratch_lstm_on_device_equals_cpu_float64(device):
    "The fused forward and hand-written backward of the scratch LSTM give on the device what they give on the CPU."
    from rnn_lit.gated import ScratchLSTM
    torch.manual_seed(0)
    cpu = ScratchLSTM(4, 8, num_layers=2).double()
    dev = ScratchLSTM(4, 8, num_layers=2).double(); dev.load_state_dict(cpu.state_dict()); dev.to(device)
    x = torch.randn(12, 2, 4, dtype=torch.float64)
    results = []
    for model, xi in ((cpu, x.clone().requires_grad_()), (dev, x.to(device).requires_grad_())):
        out, (h, c) = model(xi)
        (out.square().sum() + h.sum() + c.sum()).backward()
        results.append([out, h, c, xi.grad] + [p.grad for p in model.parameters()])
    for a, b in zip(*results): torch.testing.assert_close(b.cpu(), a, **F64)


# --- chapter 4: manual BPTT ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize('truncate', [None, 3])
def test_manual_bptt_on_device_equals_cpu(device, truncate):
    from rnn_lit.forward import ScratchRNN
    from rnn_lit.bptt import manual_bptt
    torch.manual_seed(0)
    rnn = ScratchRNN(3, 8, num_layers=2, batch_first=True).double()
    g = torch.Generator().manual_seed(2)
    x, h0 = torch.randn(4, 10, 3, generator=g, dtype=torch.float64), torch.randn(2, 4, 8, generator=g, dtype=torch.float64)
    g_out, g_h = torch.randn(4, 10, 8, generator=g, dtype=torch.float64), torch.randn(2, 4, 8, generator=g, dtype=torch.float64)
    expected = manual_bptt(rnn, x, h0, g_out, g_h, truncate=truncate)
    rnn.to(device)
    got = manual_bptt(rnn, x.to(device), h0.to(device), g_out.to(device), g_h.to(device), truncate=truncate)
    assert got.keys() == expected.keys()
    for k in expected:
        assert on(got[k], device), k
        torch.testing.assert_close(got[k].cpu(), expected[k], **F64, msg=lambda m: f'{k}: {m}')
    if truncate is None:  # and what autograd computes on the device
        xi, hi = x.to(device).requires_grad_(), h0.to(device).requires_grad_()
        out, h_n = rnn(xi, hi)
        ((out * g_out.to(device)).sum() + (h_n * g_h.to(device)).sum()).backward()
        for name, p in rnn.named_parameters(): torch.testing.assert_close(got[name], p.grad, **F64)
        torch.testing.assert_close(got['input'], xi.grad, **F64); torch.testing.assert_close(got['h0'], hi.grad, **F64)


# --- chapter 5: Jacobian norms --------------------------------------------------------------------------------------------

@pytest.mark.parametrize('module', ['scratch', 'torch'])
def test_jacobian_norms_on_device_equal_cpu(device, module):
    from rnn_lit.forward import ScratchRNN
    from rnn_lit.gradients import jacobian_norms, pascanu_bound
    torch.manual_seed(0)
    rnn = (ScratchRNN if module == 'scratch' else nn.RNN)(3, 8)
    x, h0 = torch.randn(12, 3), 0.5 * torch.randn(1, 8)
    expected = jacobian_norms(rnn, x, h0)
    got = jacobian_norms(rnn.to(device), x.to(device), h0.to(device))
    assert on(got.norms, device) and on(got.step_jacobians, device) and on(got.distance, device)
    torch.testing.assert_close(got.norms.cpu(), expected.norms, **F64)
    torch.testing.assert_close(got.step_jacobians.cpu(), expected.step_jacobians, **F64)
    sigma = torch.linalg.matrix_norm(rnn.weight_hh_l0.detach().double(), 2).item()
    assert (got.norms <= pascanu_bound(sigma, 1.0, got.distance.double()) * (1 + 1e-9)).all()  # on the device


def test_state_jacobian_norms_on_device_equal_cpu(device):
    from rnn_lit.gated import ScratchGRU, state_jacobian_norms
    torch.manual_seed(0)
    gru = ScratchGRU(2, 6).double()
    x = torch.randn(10, 2, dtype=torch.float64)
    expected = state_jacobian_norms(gru, x)
    got = state_jacobian_norms(gru.to(device), x.to(device))
    assert on(got, device)
    torch.testing.assert_close(got.cpu(), expected, **F64)


# --- chapter 6: training on the adding problem, the gate widget ------------------------------------------------------------

def test_fit_adding_on_device_follows_cpu(device):
    "The same initial weights and batches: the device run's losses follow the CPU run's, step by step."
    from rnn_lit.gated import LastStepRegressor, ScratchGRU, fit_adding
    torch.manual_seed(0)
    cpu = LastStepRegressor(ScratchGRU, 2, 8)
    dev = LastStepRegressor(ScratchGRU, 2, 8); dev.load_state_dict(cpu.state_dict()); dev.to(device)
    expected = fit_adding(cpu, T=10, steps=20, batch_size=32, n_test=200)
    got = fit_adding(dev, T=10, steps=20, batch_size=32, n_test=200)  # the batches are drawn on the CPU and moved
    assert all(on(p, device) for p in dev.parameters())
    np.testing.assert_allclose(got['loss'], expected['loss'], rtol=1e-3, atol=1e-6)
    assert abs(got['mse'] - expected['mse']) < 1e-4 and abs(got['solved'] - expected['solved']) <= 0.01


def test_gates_widget_with_device_models(device):
    from rnn_lit.gated import ScratchLSTM, ScratchGRU, gates_widget
    torch.manual_seed(0)
    cpu = {'LSTM': ScratchLSTM(2, 4, batch_first=True), 'GRU': ScratchGRU(2, 4, batch_first=True)}
    dev = {name: type(m)(2, 4, batch_first=True) for name, m in cpu.items()}
    for name, m in dev.items(): m.load_state_dict(cpu[name].state_dict()); m.to(device)
    images = []
    for models in (cpu, dev):
        w = gates_widget(models)  # the default input: one adding-problem sequence, made on the CPU
        w.inputs['t'].value = 7
        images.append(np.ma.filled(w.drawing.artists['image'].get_array().astype(float), np.nan))
    np.testing.assert_allclose(images[1], images[0], rtol=1e-4, atol=1e-5)
    assert np.isnan(images[1][:, 8:]).all() and not np.isnan(images[1][:, :8]).any()  # steps after t = 7 blank


# --- chapter 7: Model, fit, predict ----------------------------------------------------------------------------------------

BOLT = "Usain Bolt, an eight-time Olympic gold medallist, is from ___"

def test_model_fit_predict_on_device(device, tmp_path):
    from rnn_lit.core import set_seed
    from rnn_lit.model import Model, Batches, blank_tasks_28, blank_loss, blank_accuracy, fit, predict, predict_steps, one_hot
    tasks = blank_tasks_28(gaps=range(2), n_train=200, n_valid=50)
    set_seed(0)
    model = Model(28, 10, 12, 1)  # on the CPU: `fit` moves it
    train = Batches([(t.x_train, t.y_train) for t in tasks.values()], batch_size=32, seed=0)
    valid = Batches([(t.x_valid, t.y_valid) for t in tasks.values()], batch_size=256, shuffle=False)
    hist = fit(model, train, blank_loss, epochs=12, lr=0.02, valid=valid, clip=1.0, device=str(device), progress=False)
    assert all(on(p, device) for p in model.parameters()) and on(model.init_hidden(2), device)
    assert all(math.isfinite(v) for v in hist['loss'] + hist['valid_loss'])
    el = hist['epoch_loss']
    print(f"epoch losses {[round(v, 3) for v in el]}, valid {[round(v, 3) for v in hist['valid_loss']]}")
    assert el[-1] < 0.1 * el[0], el  # it learns (on the CPU: 2.11 -> 0.012 nats)
    assert hist['valid_loss'][-1] < 0.2, hist['valid_loss']  # (on the CPU: 1.60 -> 0.013)
    task = tasks[0]
    acc = blank_accuracy(model, task.x_valid, task.y_valid)  # CPU ids, the model on the device
    assert acc > 0.9, acc  # chance is 0.1 (on the CPU: 1.0)
    guess = predict(model, task, BOLT, k=10)
    assert len(guess) == 10 and all(isinstance(w, str) and isinstance(p, float) for w, p in guess)
    assert abs(sum(p for _, p in guess) - 1) < 1e-3 and [p for _, p in guess] == sorted((p for _, p in guess), reverse=True)
    # one step at a time on the device (state carried) equals one pass
    x = one_hot(task.x_valid[:4], 28).to(device)
    with torch.no_grad(): whole = model(x)
    steps = predict_steps(model, x)
    torch.testing.assert_close(steps[0], whole[0], **F32); torch.testing.assert_close(steps[1], whole[1], **F32)
    # a state_dict saved from the device (written to a temporary file, then renamed into place, as rnn_lit.cli.save_checkpoint does)
    # loads on the CPU with weights_only=True and gives the same scores
    path, tmp = tmp_path / 'model.pt', tmp_path / '.model.pt.tmp'
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp); os.replace(tmp, path)
    state = torch.load(path, map_location='cpu', weights_only=True)
    assert all(v.device.type == 'cpu' for v in state.values())
    cpu_model = Model(28, 10, 12, 1); cpu_model.load_state_dict(state)
    with torch.no_grad(): torch.testing.assert_close(cpu_model(x.cpu())[0], whole[0].cpu(), **F32)
    cpu_guess = predict(cpu_model, task, BOLT, k=10)
    assert [w for w, _ in cpu_guess] == [w for w, _ in guess]
    np.testing.assert_allclose([p for _, p in cpu_guess], [p for _, p in guess], atol=2e-4)


# --- chapter 8: the character language model -----------------------------------------------------------------------------

@pytest.fixture(scope='module')
def char_corpus():
    import rnn_lit
    from rnn_lit.lm import char_data, stdlib_text
    text = stdlib_text(40_000, root=Path(rnn_lit.__file__).parent)  # this package's source: the same text on every machine
    return char_data(text, batch_size=32)  # (vocab, train (T, N), valid), on the CPU


@pytest.mark.parametrize('cell,impl', [('lstm', 'torch'), ('gru', 'scratch'), ('rnn', 'scratch')])
def test_char_lm_trains_samples_and_saves_on_device(device, char_corpus, tmp_path, cell, impl):
    from rnn_lit.core import set_seed
    from rnn_lit.lm import LanguageModel, evaluate_lm, fit_lm, sample, hidden_trace, neuron_correlations
    from rnn_lit.cli import save_checkpoint, load_checkpoint
    vocab, train, valid = char_corpus
    set_seed(0)
    model = LanguageModel(len(vocab), 48, 1, cell=cell, impl=impl).to(device)
    before = evaluate_lm(model, valid, 32)[0]  # the data stays on the CPU: the functions move it
    hist = fit_lm(model, train, valid, seq_len=32, epochs=3, lr=1e-2)  # 3 x 35 segments
    after = hist[-1]['valid_loss']
    print(f'{cell}/{impl}: valid loss {before:.3f} -> {[round(h["valid_loss"], 3) for h in hist]} (log V = {math.log(len(vocab)):.3f})')
    assert all(on(p, device) for p in model.parameters())
    assert all(math.isfinite(h['train_loss']) and math.isfinite(h['valid_loss']) for h in hist)
    assert abs(before - math.log(len(vocab))) < 0.5, before  # untrained: about uniform
    assert after < before - 1.0, (before, after)
    assert hist[-1]['train_loss'] < hist[0]['train_loss']
    # sampling: a seeded CPU generator gives the same text twice, every character from the vocabulary
    texts = [sample(model, vocab, 'def ', n=80, temperature=0.8, generator=torch.Generator().manual_seed(0)) for _ in range(2)]
    assert texts[0] == texts[1] and len(texts[0]) == 80 and set(texts[0]) <= set(vocab.itos)
    greedy = sample(model, vocab, "def ", n=20, temperature=1e-4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # temperature -> 0 is the argmax path, computed here step by step
        ids, state, out = vocab.encode('def ').view(-1, 1).to(device), None, []
        logits, state = model(ids)
        for _ in range(20):
            i = logits[-1, 0].argmax().view(1, 1); out.append(i.item()); logits, state = model(i, state)
    assert greedy == vocab.decode(out)
    # the hidden trace comes back to the CPU; correlations work where the states are
    states = hidden_trace(model, vocab, 'for i in range(10):\n    x = i')
    assert states.device.type == 'cpu' and states.shape == (len('for i in range(10):\n    x = i'), 48)
    feature = np.arange(len(states), dtype=float)
    torch.testing.assert_close(neuron_correlations(states.to(device), feature).cpu(), neuron_correlations(states, feature))
    # a checkpoint saved from the device holds CPU tensors and loads on the CPU (or back on the device) with the same logits
    path = save_checkpoint(model, vocab, tmp_path / 'lm.pt', steps=len(hist))
    blob = torch.load(path, weights_only=True)  # no map_location: the tensors were written from the CPU
    assert all(v.device.type == 'cpu' for v in blob['state_dict'].values())
    x = vocab.encode('import os\n').view(-1, 1)
    with torch.no_grad(): expected = model(x.to(device))[0].cpu()
    cpu_model, cpu_vocab = load_checkpoint(path)
    assert cpu_vocab.itos == vocab.itos and cpu_model.info == {'steps': len(hist)}
    assert all(p.device.type == 'cpu' for p in cpu_model.parameters())
    with torch.no_grad(): torch.testing.assert_close(cpu_model(x)[0], expected, **F32)
    dev_model, _ = load_checkpoint(path, device=device)
    assert all(on(p, device) for p in dev_model.parameters())
    with torch.no_grad(): torch.testing.assert_close(dev_model(x.to(device))[0].cpu(), expected, **F32)


@pytest.mark.parametrize('cell,impl', [('rnn', 'torch'), ('lstm', 'torch'), ('rnn', 'scratch'), ('lstm', 'scratch'), ('gru', 'scratch')])
def test_char_lm_bf16_autocast(device, char_corpus, cell, impl):
    "Mixed precision as the benchmark trains (bf16 matrix products, float32 weights): close to float32, and it learns."
    # the scratch layers take back the bf16 state autocast carries into the next segment (the gated ones compute in float32)
    from rnn_lit.core import set_seed
    from rnn_lit.lm import LanguageModel, segment_loss, detach_state, evaluate_lm
    vocab, train, valid = char_corpus
    set_seed(0)
    model = LanguageModel(len(vocab), 48, 1, cell=cell, impl=impl).to(device)
    data = train.to(device)
    x, y = data[:32], data[1:33]
    with torch.no_grad():
        full = segment_loss(model, x, y)[0].item()
        with torch.autocast(device.type, dtype=torch.bfloat16): mixed = segment_loss(model, x, y)[0].item()
    assert abs(mixed - full) < 0.02 * full, (mixed, full)
    opt, state, losses = torch.optim.Adam(model.parameters(), lr=1e-2), None, []
    for step in range(60):
        i = (step * 32) % (data.shape[0] - 33)
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss, _, _, state = segment_loss(model, data[i:i + 32], data[i + 1:i + 33], state)
        opt.zero_grad(); loss.backward(); opt.step()
        state = detach_state(state)
        losses.append(loss.item())
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(math.isfinite(v) for v in losses)
    print(f'bf16 {cell}/{impl}: loss {np.mean(losses[:5]):.3f} -> {np.mean(losses[-5:]):.3f}')
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.8, (losses[:5], losses[-5:])
    assert evaluate_lm(model, valid, 32)[0] < math.log(len(vocab)) - 0.8


# --- chapter 10: timing a layer on the device -------------------------------------------------------------------------------

def test_time_step_on_device(device):
    "The timed batch is made where the layer is, in its dtype; on a GPU the time includes waiting for the kernels."
    from rnn_lit.gated import ScratchGRU
    from rnn_lit.perf import time_step
    for layer in (nn.LSTM(4, 8).to(device), ScratchGRU(4, 8).to(device).double()):
        t = time_step(layer, L=6, N=3, repeats=2)
        assert 0 < t < 5, t
        assert all(p.grad is None for p in layer.parameters())  # time_step leaves no gradients behind
