"""Character-model training throughput: rnn_lit's batched `LanguageModel` against the plain NumPy char-RNN baseline.

Both are vanilla tanh RNNs with hidden size 100 trained on the same text (Python's standard-library source). The
baseline is `rnn_lit.lm.MinCharRNN`: hand-written BPTT over 25 characters, batch size 1, Adagrad (the min-char-rnn
setup). Ours is `LanguageModel(cell='rnn')` trained with truncated BPTT on N parallel streams with Adam, in float32
and with bfloat16 autocast (mixed precision: bf16 matrix products, float32 weights), on one thread by default: on a
shared 2-core machine two PyTorch threads spin-wait on each other and run many times slower.

The two run in alternation (ours, numpy, ours, numpy, ...), each slice lasting the same wall time and each model
continuing where its previous slice stopped. Printed: the median characters per second of each, their ratio
(goal >= 30), and the validation loss (nats per character, on the same held-out 10,000 characters) each model
reached after the same total wall time. Not collected by pytest (no test_ prefix); run it directly:

    python bench/bench_lm.py            # full: 3 x 10 s slices per model (about a minute and a half)
    python bench/bench_lm.py --quick    # 2 x 3 s slices per model
"""
import argparse, math, os, platform, resource, statistics, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's rnn_lit, not an installed one
import numpy as np
import torch
from rnn_lit.core import set_seed
from rnn_lit.lm import (LanguageModel, MinCharRNN, Vocab, batchify, detach_state, evaluate, min_char_rnn_loss,
                        segment_loss, stdlib_text)

HIDDEN = 100

def _data(chars=300_000, valid_chars=10_000):
    text = stdlib_text(chars)
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)
    cut = len(ids) - valid_chars
    return vocab, ids[:cut], ids[cut:]

class _Ours:
    "LanguageModel(cell='rnn') trained slice by slice, the state carried across segments and slices."
    def __init__(self, vocab, train_ids, batch_size=256, seq_len=50, lr=3e-3, bf16=True):
        set_seed(0)
        self.model = LanguageModel(len(vocab), HIDDEN, 1, 'rnn')
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.data, self.seq_len, self.row, self.state = batchify(train_ids, batch_size), seq_len, 0, None
        self.bf16 = bf16  # mixed precision: bfloat16 matrix products, float32 weights and optimizer

    def train(self, seconds):
        chars, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            if self.row + self.seq_len + 1 > self.data.shape[0]: self.row, self.state = 0, None
            x, y = self.data[self.row:self.row + self.seq_len], self.data[self.row + 1:self.row + self.seq_len + 1]
            with torch.autocast('cpu', dtype=torch.bfloat16, enabled=self.bf16):
                loss, _, _, state = segment_loss(self.model, x, y, self.state)
            self.opt.zero_grad(); loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0); self.opt.step()
            self.state, self.row, chars = detach_state(state), self.row + self.seq_len, chars + x.numel()
        return chars / (time.perf_counter() - t0)

    def valid_loss(self, valid_ids):
        return evaluate(self.model, batchify(valid_ids, 1), 100)[0]

class _Numpy:
    "MinCharRNN trained slice by slice (25 characters per step, batch size 1, Adagrad)."
    def __init__(self, vocab, train_ids):
        self.model, self.ids = MinCharRNN(len(vocab), HIDDEN, seed=0), train_ids.numpy()
        self.pos, self.h = 0, np.zeros(HIDDEN)

    def train(self, seconds, seq_len=25):
        chars, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            if self.pos + seq_len + 1 > len(self.ids): self.pos, self.h = 0, np.zeros(HIDDEN)
            _, grads, self.h = self.model.loss_and_grads(self.ids[self.pos:self.pos + seq_len], self.ids[self.pos + 1:self.pos + seq_len + 1], self.h)
            self.model.step(grads)
            self.pos, chars = self.pos + seq_len, chars + seq_len
        return chars / (time.perf_counter() - t0)

    def valid_loss(self, valid_ids):
        return min_char_rnn_loss(self.model, valid_ids.numpy(), self.h)  # from its carried state (see the notebook)

def rows(quick:bool=False, threads:int=1) -> list:
    "The benchmark's measurements: dicts with keys benchmark, measure, value, goal."
    torch.set_num_threads(threads)
    repeats, seconds = (2, 3.0) if quick else (3, 10.0)
    vocab, train_ids, valid_ids = _data()
    ours, fp32, baseline = _Ours(vocab, train_ids), _Ours(vocab, train_ids, bf16=False), _Numpy(vocab, train_ids)
    big = _Ours(vocab, train_ids, batch_size=1024)  # the whole machine: a bigger batch on every core
    cores = len(os.sched_getaffinity(0))
    speed = {'ours': [], 'fp32': [], 'numpy': [], 'big': []}
    for _ in range(repeats):  # interleaved, so a change in machine load hits all four
        speed['ours'].append(ours.train(seconds))
        speed['numpy'].append(baseline.train(seconds))
        speed['fp32'].append(fp32.train(seconds))
        torch.set_num_threads(cores)
        speed['big'].append(big.train(seconds))
        torch.set_num_threads(threads)
    cps = {k: statistics.median(v) for k, v in speed.items()}
    name, wall = 'char LM training (H=100, stdlib text)', repeats * seconds
    return [
        dict(benchmark=name, measure='numpy MinCharRNN chars/s (N=1, L=25, Adagrad)', value=cps['numpy'], goal=''),
        dict(benchmark=name, measure=f'rnn_lit LanguageModel(rnn) chars/s (N=256, L=50, float32, {threads} thread)', value=cps['fp32'], goal=''),
        dict(benchmark=name, measure=f'rnn_lit LanguageModel(rnn) chars/s (N=256, L=50, bf16 autocast, {threads} thread)', value=cps['ours'], goal=''),
        dict(benchmark=name, measure='throughput ratio ours (float32) / numpy', value=cps['fp32'] / cps['numpy'], goal=''),
        dict(benchmark=name, measure='throughput ratio ours (bf16 autocast) / numpy', value=cps['ours'] / cps['numpy'], goal=''),
        dict(benchmark=name, measure=f'rnn_lit LanguageModel(rnn) chars/s (N=1024, L=50, bf16 autocast, {cores} threads)', value=cps['big'], goal=''),
        dict(benchmark=name, measure=f'throughput ratio ours (N=1024, bf16, {cores} threads) / numpy', value=cps['big'] / cps['numpy'], goal='>= 30'),
        dict(benchmark=name, measure=f'numpy valid loss after {wall:.0f} s (nats/char)', value=baseline.valid_loss(valid_ids), goal=''),
        dict(benchmark=name, measure=f'ours (bf16) valid loss after {wall:.0f} s (nats/char)', value=ours.valid_loss(valid_ids), goal=''),
    ]

def _met(row):
    if not row['goal']: return ''
    op, target = row['goal'].split()
    return 'yes' if (row['value'] >= float(target) if op == '>=' else row['value'] <= float(target)) else 'NO'

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='shorter slices')
    ap.add_argument('--threads', type=int, default=1, help='PyTorch CPU threads for our model (default 1)')
    a = ap.parse_args()
    print(f'python {platform.python_version()}, torch {torch.__version__}, numpy {np.__version__}, {platform.machine()}, '
          f'{len(__import__("os").sched_getaffinity(0))} cores available, torch threads {a.threads}')
    out = rows(a.quick, a.threads)
    print(f"{'measure':<80} {'value':>12}  goal   met")
    for r in out: print(f"{r['measure']:<80} {r['value']:>12,.3f}  {r['goal']:<6} {_met(r)}")
    print(f'peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB')
