"""Step-by-step prediction: carrying the hidden state (`predict_steps`) against re-running the whole prefix after each word.

Prints the time of each and the ratio for a few sentence lengths. Run from the repository root:
    PYTHONPATH=. python bench/stepwise.py
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

if __name__ == '__main__':
    torch.set_num_threads(1); torch.manual_seed(0)
    model = Model(28, 10, 12, 1)
    print(f"{'L':>5} {'carry state (ms)':>17} {'re-run prefix (ms)':>19} {'ratio':>6}")
    for L in (11, 50, 200):
        x = torch.randn(1, L, 28)
        carried = predict_steps(model, x)[0].view(1, L, -1)
        torch.testing.assert_close(carried, rerun_prefixes(model, x))  # same answers at every step
        t_carry, t_rerun = best_of(lambda: predict_steps(model, x)), best_of(lambda: rerun_prefixes(model, x))
        print(f"{L:>5} {t_carry * 1e3:>17.2f} {t_rerun * 1e3:>19.2f} {t_rerun / t_carry:>6.1f}")
