"""Step-by-step prediction: carrying the hidden state (`predict_steps`) against re-running the whole prefix after each word.

Prints the time of each and the ratio for a few sentence lengths (also part of `make bench`):
    python bench/bench_stepwise.py
Timings on a shared machine are noisy; the ratio is what matters (it should grow about like (L+1)/2).
"""
import time
import torch
from rnn_lit.model import Model, predict_steps

def rerun_prefixes(model, x):
    "The common mistake: after each new word, run the whole prefix again from a zero state."
    with torch.no_grad():
        return torch.stack([model(x[:, :t + 1])[0].view(len(x), t + 1, -1)[:, -1] for t in range(x.shape[1])], 1)

def best_of(f, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter(); f(); times.append(time.perf_counter() - t0)
    return min(times)

def rows(quick=False):
    "Re-running the prefix divided by carrying the state, at a few sentence lengths (Model 28 -> 12 -> 10)."
    torch.set_num_threads(1); torch.manual_seed(0)
    model, out = Model(28, 10, 12, 1), []
    for L in (11, 50) if quick else (11, 50, 200):
        x = torch.randn(1, L, 28)
        carried = predict_steps(model, x)[0].view(1, L, -1)
        torch.testing.assert_close(carried, rerun_prefixes(model, x))  # same answers at every step
        t_carry, t_rerun = best_of(lambda: predict_steps(model, x)), best_of(lambda: rerun_prefixes(model, x))
        out.append(dict(benchmark=f'step-by-step prediction, L={L}', measure='re-run prefix / carry state',
                        value=t_rerun / t_carry, goal='> 1, growing ~ (L+1)/2'))
    return out

if __name__ == '__main__':
    import os, sys
    sys.path.insert(0, os.path.dirname(__file__))
    from run import print_table
    print_table(rows('--quick' in sys.argv))
