"""What the training loop's "last good weights" guard costs: step time of a 2-layer, 512-unit LSTM language model.

Three ways to take the same optimizer step (embedding, LSTM, head, cross-entropy, backward, clip to norm 1, AdamW):
- plain: the five lines with nothing around them (the norm is computed for clipping, never read);
- guarded: `rnn_lit.train.train_steps`, the loop every chapter and `rnn-lit train` use: it reads the loss and the gradient
  norm (two `.item()` calls) and checks both are finite BEFORE `opt.step()`, so a bad step is refused, nothing copied;
- snapshot: plain plus a copy of the whole state dict after every step, what `rnn-lit train` did before (`_snapshot`).
The three alternate step by step (plain, guarded, snapshot, plain, ...) on one model, so machine load hits all alike;
printed are the median step times and the ratios to plain (goal for the guard: <= 1.05). Not collected by pytest:

    python bench/bench_cli.py            # L=64, 12 rounds
    python bench/bench_cli.py --quick    # L=16, 6 rounds
"""
import argparse, platform, statistics, sys, time
from itertools import repeat
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's rnn_lit, not an installed one
import torch
from torch import nn
from rnn_lit.core import set_seed
from rnn_lit.lm import LanguageModel, lm_loss
from rnn_lit.train import train_steps

def _setup(seq_len, batch_size=32, vocab=96, hidden=512, layers=2, device='cpu'):
    set_seed(0)
    model = LanguageModel(vocab, hidden, layers, 'lstm').to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(vocab, (seq_len, batch_size), generator=g).to(device)
    y = torch.randint(vocab, (seq_len, batch_size), generator=g).to(device)
    return model, opt, x, y

def _sync(device):
    if device.startswith('cuda'): torch.cuda.synchronize()

def rows(quick:bool=False, device:str='cpu') -> list:
    "The benchmark's measurements: dicts with keys benchmark, measure, value, goal."
    torch.set_num_threads(1 if device == 'cpu' else torch.get_num_threads())
    seq_len, rounds = (16, 6) if quick else (64, 12)
    model, opt, x, y = _setup(seq_len, device=device)
    loss_func = lm_loss(stateful=False)
    guarded = train_steps(model, repeat((x, y)), loss_func, opt, clip=1.0)

    def plain():
        loss = loss_func(model, x, y)
        opt.zero_grad(); loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
    def snapshot():
        plain()
        return {k: v.detach().clone() for k, v in model.state_dict().items()}  # the old way to keep the last good weights
    steps = {'plain': plain, 'guarded': lambda: next(guarded), 'snapshot': snapshot}
    for f in steps.values(): f()  # warm up each path once
    times = {k: [] for k in steps}
    for r in range(rounds):
        for name in (list(steps) if r % 2 == 0 else list(steps)[::-1]):  # alternate the order as well
            _sync(device); t0 = time.perf_counter()
            steps[name](); _sync(device)
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = {k: statistics.median(t / p for t, p in zip(times[k], times['plain'])) for k in ('guarded', 'snapshot')}  # per round: same load
    name = f'guard cost (2-layer LSTM 512, N=32, L={seq_len}, {device})'
    return [
        dict(benchmark=name, measure='plain step, seconds (median)', value=med['plain'], goal=''),
        dict(benchmark=name, measure='train_steps (guarded) step, seconds (median)', value=med['guarded'], goal=''),
        dict(benchmark=name, measure='step + state-dict copy (old _snapshot), seconds (median)', value=med['snapshot'], goal=''),
        dict(benchmark=name, measure='ratio guarded / plain (median over rounds)', value=ratio['guarded'], goal='<= 1.05'),
        dict(benchmark=name, measure='ratio snapshot / plain (median over rounds)', value=ratio['snapshot'], goal=''),
    ]

def _met(row):
    if not row['goal']: return ''
    op, target = row['goal'].split()
    return 'yes' if (row['value'] >= float(target) if op == '>=' else row['value'] <= float(target)) else 'NO'

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='shorter segments, fewer rounds')
    ap.add_argument('--device', default='cpu', help="'cpu' (one thread) or 'cuda'")
    a = ap.parse_args()
    print(f'python {platform.python_version()}, torch {torch.__version__}, {platform.machine()}, device {a.device}')
    out = rows(a.quick, a.device)
    print(f"{'measure':<60} {'value':>10}  goal     met")
    for r in out: print(f"{r['measure']:<60} {r['value']:>10.4f}  {r['goal']:<8} {_met(r)}")
