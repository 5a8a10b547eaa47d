"""Speed of the drop-in paths: ScratchRNN, ScratchLSTM and ScratchGRU against torch's, one way, both ways, packed.

Run from the repository root: `python bench/bench_dropin.py [--quick] [--threads N]`.
Not collected by pytest (the file name does not start with `test_`). `rows()` returns the table for `make bench`.
Forward + backward at L=64, N=32, H_in=28, H_out=128: a padded batch read one way and both ways, and a packed
batch (a PackedSequence) whose lengths are spread evenly over 1..64, in a shuffled order. Each repeat times torch's
module and ours in alternating order (interleaved, so a burst of load on a shared machine hits both); the figures
are medians over repeats, and the ratios are scratch / torch.
"""
import sys, time, statistics, resource
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, PackedSequence
from rnn_lit.forward import ScratchRNN
from rnn_lit.gated import ScratchLSTM, ScratchGRU

SIZE = dict(L=64, N=32, H_in=28, H_out=128)
PAIRS = {'RNN': (nn.RNN, ScratchRNN), 'LSTM': (nn.LSTM, ScratchLSTM), 'GRU': (nn.GRU, ScratchGRU)}
CASES = {'one way': dict(bidirectional=False, packed=False), 'both ways': dict(bidirectional=True, packed=False),
         'packed': dict(bidirectional=False, packed=True), 'packed, both ways': dict(bidirectional=True, packed=True)}
GOALS = {'one way': '~ as before (RNN ~0.9, LSTM ~0.9-1.0, GRU ~0.7)', 'both ways': '<= 1.3', 'packed': '<= 1.3',
         'packed, both ways': '<= 1.3'}

def _step(model, x):
    "One forward + backward pass; gradients of every parameter and the input (not accumulated, so repeats are alike)."
    out, last = model(x)
    out = out.data if isinstance(out, PackedSequence) else out
    h_n = last[0] if isinstance(last, tuple) else last
    data = x.data if isinstance(x, PackedSequence) else x
    return torch.autograd.grad(out.sum() + h_n.sum(), [data, *model.parameters()])

def _input(L, N, H_in, packed, seed=0):
    "A padded batch (L, N, H_in), or a PackedSequence of lengths spread evenly over 1..L in a shuffled order."
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(L, N, H_in, generator=g)
    if not packed: return x.requires_grad_()
    lengths = torch.linspace(1, L, N).round().long()[torch.randperm(N, generator=g)]
    p = pack_padded_sequence(x, lengths, enforce_sorted=False)
    return PackedSequence(p.data.requires_grad_(), p.batch_sizes, p.sorted_indices, p.unsorted_indices)

def _time(fn):
    t0 = time.perf_counter(); fn(); return time.perf_counter() - t0

def measure(name, bidirectional, packed, L, N, H_in, H_out, repeats=20, warmup=3, seed=0):
    "Median seconds of one forward + backward for torch's module and ours, interleaved repeats."
    torch.manual_seed(seed)
    torch_cls, scratch_cls = PAIRS[name]
    reference = torch_cls(H_in, H_out, bidirectional=bidirectional)
    scratch = scratch_cls(H_in, H_out, bidirectional=bidirectional); scratch.load_state_dict(reference.state_dict())
    models, x = {'torch': reference, 'scratch': scratch}, _input(L, N, H_in, packed, seed)
    times = {k: [] for k in models}
    for _ in range(warmup):
        for m in models.values(): _step(m, x)
    for r in range(repeats):
        for k in (list(models) if r % 2 == 0 else list(reversed(models))): times[k].append(_time(lambda: _step(models[k], x)))
    return {k: statistics.median(t) for k, t in times.items()}

def rows(quick:bool=False, threads:int=1) -> list:
    "The benchmark table: one dict per figure with keys benchmark, measure, value, goal."
    torch.set_num_threads(threads)  # the same thread count for both models
    n, size, table = (6 if quick else 20), ', '.join(f'{k}={v}' for k, v in SIZE.items()), []
    for case, flags in CASES.items():
        for name in PAIRS:
            med = measure(name, **flags, **SIZE, repeats=n)
            table += [dict(benchmark=f'Scratch{name} / nn.{name} fwd+bwd, {case} ({size})',
                           measure=f'time ratio, medians of {n} interleaved repeats, {threads} thread(s)',
                           value=round(med['scratch'] / med['torch'], 3), goal=GOALS[case]),
                      dict(benchmark=f'nn.{name} fwd+bwd, {case} ({size})', measure='median ms',
                           value=round(med['torch'] * 1e3, 2), goal='-')]
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
    print(f"{'benchmark':<{width}}  {'value':>9}  {'goal':<46} measure")
    for r in table: print(f"{r['benchmark']:<{width}}  {r['value']:>9}  {r['goal']:<46} {r['measure']}")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
