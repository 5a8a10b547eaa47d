"""Speed of ScratchLSTM / ScratchGRU against torch.nn.LSTM / nn.GRU on the CPU: forward + backward, side by side.

Run from the repository root: `python bench/bench_gated.py [--quick] [--threads N]`.
Not collected by pytest (the file name does not start with `test_`). `rows()` returns the table for `make bench`.
Each repeat times every model once, in alternating order (interleaved, so a burst of load on a shared machine hits
all of them); the figures are medians over repeats, and the ratios are scratch / torch. All models run under the
same `torch.set_num_threads`. Also measured: the plain loop over `lstm_cell` / `gru_cell` (the notebook's first
version, before hoisting, fusing and the hand-written backward), and for the LSTM torch without oneDNN, whose fused
kernel `nn.LSTM` uses on the CPU in float32 (`nn.GRU` has none).
"""
import gc, os, sys, time, statistics
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
import torch
from torch import nn
from rnn_lit.gated import ScratchLSTM, ScratchGRU, lstm_layer_plain, gru_layer_plain, lstm_backend, lstm_kernels_status

SHAPES = [dict(L=64, N=32, H_in=28, H_out=128), dict(L=25, N=1, H_in=65, H_out=100)]
GOAL = '<= 1.0 (bar 1.3)'

class _PlainLoop(nn.Module):
    "A scratch model's weights run through the plain loop (one layer), for comparison."
    def __init__(self, model): super().__init__(); self.model = model
    def forward(self, x):
        h0 = x.new_zeros(x.shape[1], self.model.hidden_size)
        if self.model.mode == 'LSTM':
            out, h, c = lstm_layer_plain(x, h0, h0, *self.model.layer_weights(0))
            return out, (h[None], c[None])
        out, h = gru_layer_plain(x, h0, *self.model.layer_weights(0))
        return out, h[None]

class _PyTorchOps(nn.Module):
    "ScratchLSTM run with `lstm_layer` (PyTorch operations and the hand-written backward) instead of the compiled loops."
    def __init__(self, model): super().__init__(); self.model = model
    def forward(self, x):
        before = lstm_backend('pytorch')
        try: return self.model(x)
        finally: lstm_backend(before)

class _NoOneDNN(nn.Module):
    "torch.nn.LSTM with oneDNN switched off: PyTorch's own loop over ATen operations."
    def __init__(self, model): super().__init__(); self.model = model
    def forward(self, x):
        with torch.backends.mkldnn.flags(enabled=False): return self.model(x)

class _LSTMMatmuls(nn.Module):
    "Only the matrix products ScratchLSTM's layer does (input projection, per-step forward and backward, weight gradients)."
    def __init__(self, L, N, H_in, H_out):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))  # so _step has a parameter to differentiate
        g = torch.Generator().manual_seed(0)
        self.X, self.dA = torch.randn(L * N, H_in, generator=g), torch.randn(L * N, 4 * H_out, generator=g)
        self.H, self.a = torch.randn(L * N, H_out, generator=g), torch.randn(N, 4 * H_out, generator=g)
        self.W_ih, self.W_hh = torch.randn(4 * H_out, H_in, generator=g), torch.randn(4 * H_out, H_out, generator=g)
        self.L, self.N, self.H_out = L, N, H_out
    def forward(self, x):
        self.X @ self.W_ih.T
        h = self.H[:self.N]
        for _ in range(self.L): torch.addmm(self.a, h, self.W_hh.T)
        for _ in range(self.L): torch.addmm(h, self.a, self.W_hh)
        self.dA.T @ self.X; self.dA.T @ self.H
        return self.w * x.new_ones(1), None

def _step(model, x, g_out):
    "One forward + backward pass; gradients of every parameter (not accumulated, so repeats are alike)."
    out, _ = model(x)
    return torch.autograd.grad((out * g_out).sum(), list(model.parameters()))

def _time(fn):
    "(wall, CPU) seconds of one call, with Python's garbage collector off (as timeit does)."
    gc.collect(); gc.disable()
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        return time.perf_counter() - t0, time.process_time() - c0
    finally: gc.enable()

def _pair(kind, H_in, H_out, seed):
    "torch's layer and the scratch one with the same weights."
    torch.manual_seed(seed)
    reference = getattr(nn, kind)(H_in, H_out)
    scratch = {'LSTM': ScratchLSTM, 'GRU': ScratchGRU}[kind](H_in, H_out)
    scratch.load_state_dict(reference.state_dict())
    return reference, scratch

def measure(kind, L, N, H_in, H_out, repeats=30, warmup=3, seed=0, references=False):
    "Median (wall, CPU) seconds of one forward + backward of torch's model and the scratch model (or the references)."
    reference, scratch = _pair(kind, H_in, H_out, seed)
    models = {'torch': reference, 'scratch': scratch}
    if references:  # timed in a separate run: the plain loop's many small tensors disturb the timings next to it
        models = {'torch': reference, 'plain loop': _PlainLoop(scratch)}
        if kind == 'LSTM':
            models['torch without oneDNN'], models['scratch'] = _NoOneDNN(reference), scratch
            models['scratch, PyTorch operations'] = _PyTorchOps(scratch)
            models['matmuls only'] = _LSTMMatmuls(L, N, H_in, H_out)
    x, g_out = torch.randn(L, N, H_in), torch.randn(L, N, H_out)
    g_out_of = lambda name: g_out if name != 'matmuls only' else torch.ones(1)
    times = {name: [] for name in models}
    for _ in range(warmup):
        for name, m in models.items(): _step(m, x, g_out_of(name))
    for r in range(repeats):
        order = list(models) if r % 2 == 0 else list(reversed(models))
        for name in order: times[name].append(_time(lambda: _step(models[name], x, g_out_of(name))))
    return {name: tuple(statistics.median(x) for x in zip(*t)) for name, t in times.items()}

def measure_alone(kind, L, N, H_in, H_out, repeats=30, warmup=5, seed=0):
    "Median (wall, CPU) seconds of one forward + backward when each model runs alone, pass after pass (a training loop)."
    reference, scratch = _pair(kind, H_in, H_out, seed)
    x, g_out = torch.randn(L, N, H_in), torch.randn(L, N, H_out)
    result = {}
    for name, m in (('torch', reference), ('scratch', scratch)):
        for _ in range(warmup): _step(m, x, g_out)
        result[name] = tuple(statistics.median(v) for v in zip(*(_time(lambda: _step(m, x, g_out)) for _ in range(repeats))))
    return result

def rows(quick:bool=False, # fewer repeats, for a smoke test
         threads:int=1, # torch.set_num_threads for every model
        ) -> list:
    "The benchmark table: one dict per figure with keys benchmark, measure, value, goal."
    torch.set_num_threads(threads)  # the same thread count for every model
    out = []
    for kind in ('LSTM', 'GRU'):
        for s in SHAPES:
            where = f"L={s['L']} N={s['N']} H_in={s['H_in']} H_out={s['H_out']}"
            t = measure(kind, **s, repeats=5 if quick else 30)
            t_ref = measure(kind, **s, repeats=3 if quick else 10, references=True)
            # CPU time is the figure of merit on a shared machine (one thread: it is the time this process computed)
            out.append(dict(benchmark=f'Scratch{kind} / nn.{kind}, fwd+bwd, {where}', measure='CPU ratio',
                            value=t['scratch'][1] / t['torch'][1], goal=GOAL))
            out.append(dict(benchmark=f'Scratch{kind} / nn.{kind}, fwd+bwd, {where}', measure='wall ratio',
                            value=t['scratch'][0] / t['torch'][0], goal=''))
            out.append(dict(benchmark=f'plain loop / nn.{kind}, fwd+bwd, {where}', measure='CPU ratio',
                            value=t_ref['plain loop'][1] / t_ref['torch'][1], goal='(before)'))
            alone = measure_alone(kind, **s, repeats=5 if quick else 30)
            out.append(dict(benchmark=f'Scratch{kind} / nn.{kind}, each alone pass after pass, {where}', measure='CPU ratio',
                            value=alone['scratch'][1] / alone['torch'][1], goal=''))
            if 'torch without oneDNN' in t_ref:
                out.append(dict(benchmark=f'ScratchLSTM with PyTorch operations (lstm_layer) / nn.LSTM, {where}',
                                measure='CPU ratio', value=t_ref['scratch, PyTorch operations'][1] / t_ref['torch'][1],
                                goal='(before the compiled loops)'))
                out.append(dict(benchmark=f'ScratchLSTM / nn.LSTM without oneDNN, {where}', measure='CPU ratio',
                                value=t_ref['scratch'][1] / t_ref['torch without oneDNN'][1], goal='(reference)'))
                out.append(dict(benchmark=f"ScratchLSTM's matrix products alone (torch.mm) / nn.LSTM, {where}",
                                measure='CPU ratio', value=t_ref['matmuls only'][1] / t_ref['torch'][1], goal='(reference)'))
            for name in t:
                out.append(dict(benchmark=f'{kind} {name}, fwd+bwd, {where}', measure='CPU ms',
                                value=1e3 * t[name][1], goal=''))
    if threads == 1 and (os.cpu_count() or 1) >= 2:  # PyTorch's layers use every thread they are given: so do ours
        s = SHAPES[0]
        where = f"L={s['L']} N={s['N']} H_in={s['H_in']} H_out={s['H_out']}"
        torch.set_num_threads(2)
        try:
            for kind in ('LSTM', 'GRU'):
                t = measure(kind, **s, repeats=5 if quick else 30)
                out.append(dict(benchmark=f'Scratch{kind} / nn.{kind}, fwd+bwd, 2 threads, {where}', measure='wall ratio',
                                value=t['scratch'][0] / t['torch'][0], goal='(reference)'))
        finally: torch.set_num_threads(threads)
    return out

def print_table(table:list):
    w = max(len(r['benchmark']) for r in table)
    print(f"{'benchmark':{w}s}  {'measure':10s}  {'value':>8s}  goal")
    for r in table: print(f"{r['benchmark']:{w}s}  {r['measure']:10s}  {r['value']:8.2f}  {r['goal']}")

if __name__ == '__main__':
    import argparse, warnings
    warnings.filterwarnings('ignore', message='TF32 acceleration on top of oneDNN')
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--quick', action='store_true', help='5 repeats instead of 30')
    p.add_argument('--threads', type=int, default=1, help='torch.set_num_threads for every model (default 1)')
    a = p.parse_args()
    print(f'torch {torch.__version__}, {a.threads} thread(s), CPU time under whatever load the machine has')
    print(f'ScratchLSTM compiled loops: {lstm_kernels_status()}')
    print_table(rows(quick=a.quick, threads=a.threads))
