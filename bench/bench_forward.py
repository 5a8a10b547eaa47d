"""Speed of ScratchRNN against torch.nn.RNN on the CPU: forward + backward, side by side.

Run from the repository root: `python bench/bench_forward.py [--quick] [--threads N]`.
Not collected by pytest (the file name does not start with `test_`). `rows()` returns the table for `make bench`.
Each repeat times torch, then the scratch models, in alternating order (interleaved, so a burst of load on a shared
machine hits both); the figures are medians over repeats, and the ratios are scratch / torch.
"""
import sys, time, statistics, resource
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
import torch
from torch import nn
from rnn_lit.forward import ScratchRNN, rnn_unroll

SHAPES = [dict(L=64, N=32, H_in=28, H_out=128), dict(L=25, N=1, H_in=65, H_out=100)]

def _step(model, x, g_out, g_h):
    "One forward + backward pass; gradients of every parameter (not accumulated, so repeats are alike)."
    out, h_n = model(x)
    return torch.autograd.grad((out * g_out).sum() + (h_n * g_h).sum(), list(model.parameters()))

class _PlainLoop(nn.Module):
    "ScratchRNN's weights run through `rnn_unroll`, the plain loop of chapter 2 (one layer), for comparison."
    def __init__(self, rnn): super().__init__(); self.rnn = rnn
    def forward(self, x):
        out, h = rnn_unroll(x, x.new_zeros(x.shape[1], self.rnn.hidden_size), *self.rnn.layer_weights(0))
        return out, h[None]

def _time(fn):
    t0 = time.perf_counter(); fn(); return time.perf_counter() - t0

def measure(L, N, H_in, H_out, repeats=30, warmup=3, seed=0):
    "Median seconds of one forward + backward for torch.nn.RNN, ScratchRNN and the plain loop, interleaved repeats."
    torch.manual_seed(seed)
    reference = nn.RNN(H_in, H_out)
    scratch = ScratchRNN(H_in, H_out); scratch.load_state_dict(reference.state_dict())
    models = {'torch': reference, 'scratch': scratch, 'plain loop': _PlainLoop(scratch)}
    x = torch.randn(L, N, H_in)
    g_out, g_h = torch.randn(L, N, H_out), torch.randn(1, N, H_out)
    times = {name: [] for name in models}
    for _ in range(warmup):
        for m in models.values(): _step(m, x, g_out, g_h)
    for r in range(repeats):
        order = list(models) if r % 2 == 0 else list(reversed(models))
        for name in order: times[name].append(_time(lambda: _step(models[name], x, g_out, g_h)))
    return {name: statistics.median(t) for name, t in times.items()}

def rows(quick:bool=False, threads:int=1) -> list:
    "The benchmark table: one dict per figure with keys benchmark, measure, value, goal."
    torch.set_num_threads(threads)  # the same thread count for both models
    table = []
    for shape in SHAPES:
        med = measure(**shape, repeats=8 if quick else 30)
        size = ', '.join(f'{k}={v}' for k, v in shape.items())
        n = 8 if quick else 30
        table += [
            dict(benchmark=f'ScratchRNN / nn.RNN fwd+bwd ({size})', measure=f'time ratio, medians of {n} interleaved repeats, {threads} thread(s)',
                 value=round(med['scratch'] / med['torch'], 3), goal='<= 1.0 (bar <= 1.3)'),
            dict(benchmark=f'plain loop (rnn_unroll) / nn.RNN fwd+bwd ({size})', measure='time ratio, same repeats',
                 value=round(med['plain loop'] / med['torch'], 3), goal='- (for comparison)'),
            dict(benchmark=f'nn.RNN fwd+bwd ({size})', measure='median ms', value=round(med['torch'] * 1e3, 3), goal='-'),
            dict(benchmark=f'ScratchRNN fwd+bwd ({size})', measure='median ms', value=round(med['scratch'] * 1e3, 3), goal='-'),
        ]
    return table

if __name__ == '__main__':
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='fewer repeats')
    parser.add_argument('--threads', type=int, default=1, help='torch threads for both models (default 1)')
    args = parser.parse_args()
    table = rows(args.quick, args.threads)
    width = max(len(r['benchmark']) for r in table)
    print(f"torch {torch.__version__}, {args.threads} thread(s); machine load may inflate absolute times, ratios are side by side")
    print(f"{'benchmark':<{width}}  {'value':>9}  {'goal':<22} measure")
    for r in table: print(f"{r['benchmark']:<{width}}  {r['value']:>9}  {r['goal']:<22} {r['measure']}")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
