"""Speed of `manual_bptt` (forward + hand-written backward) against a forward pass plus autograd's backward.

`rows(quick=False)` returns the measurements as a list of dicts (benchmark, measure, value, goal);
`python bench/bench_bptt.py [--quick]` prints them as a table. The contenders are timed in turn
inside every repeat (interleaved), so a burst of load on a shared machine hits all of them alike;
the table gives the median of each and the ratio of the medians, in wall-clock time and in CPU time
(`time.process_time`). On a busy machine a Python loop is preempted many times, which inflates wall
time far more than CPU time; with one torch thread on an idle machine the two agree. Not collected by pytest.
"""
import statistics, sys, time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from rnn_lit.bptt import manual_bptt

SIZES = [dict(L=64, N=32, H_in=28, H_out=128), dict(L=25, N=1, H_in=65, H_out=100)]  # issue 8's two shapes


def _scratch_rnn():
    "ScratchRNN (chapter 2) when this checkout has it, else None."
    try: from rnn_lit.forward import ScratchRNN
    except ImportError: return None
    return ScratchRNN


def _autograd_step(model, x, h0, g, g_n):
    "One forward pass through `model` and autograd's backward of sum(output*g) + sum(h_n*g_n)."
    for t in (x, h0, *model.parameters()): t.grad = None
    output, h_n = model(x, h0)
    torch.autograd.backward((output, h_n), (g, g_n))


def _contenders(L, N, H_in, H_out):
    "name -> a function doing one forward + backward, all with the same weights and data (float32)."
    torch.manual_seed(0)
    rnn = torch.nn.RNN(H_in, H_out)
    x, h0 = torch.randn(L, N, H_in, requires_grad=True), torch.randn(1, N, H_out, requires_grad=True)
    g, g_n = torch.randn(L, N, H_out), torch.randn(1, N, H_out)
    contenders = {'manual_bptt': lambda: manual_bptt(rnn, x, h0, g, g_n),
                  'nn.RNN + autograd': lambda: _autograd_step(rnn, x, h0, g, g_n)}
    ScratchRNN = _scratch_rnn()
    if ScratchRNN is not None:
        scratch = ScratchRNN(H_in, H_out)
        scratch.load_state_dict(rnn.state_dict())
        contenders['ScratchRNN + autograd'] = lambda: _autograd_step(scratch, x, h0, g, g_n)
    return contenders


def _time(contenders, repeats, number, clock):
    "Median seconds per call of each contender on `clock`, timed in turn within every repeat."
    for f in contenders.values(): f()  # warm up
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, f in contenders.items():
            start = clock()
            for _ in range(number): f()
            times[name].append((clock() - start) / number)
    return {name: statistics.median(ts) for name, ts in times.items()}


def rows(quick:bool=False, # fewer repeats, for a smoke run
         threads:int|None=1, # torch threads while timing (restored after); None leaves torch's setting
        ) -> list:
    "Median times (ms) of manual_bptt and of forward + autograd backward, and their ratios, at issue 8's sizes."
    saved = torch.get_num_threads()
    if threads: torch.set_num_threads(threads)
    try:
        out = []
        for size in SIZES:
            name = 'bptt ' + ' '.join(f'{k}={v}' for k, v in size.items())
            contenders = _contenders(**size)
            for clock_name, clock in (('wall', time.perf_counter), ('CPU', time.process_time)):
                medians = _time(contenders, repeats=5 if quick else 25, number=2 if size['N'] > 1 else 10, clock=clock)
                out += [dict(benchmark=name, measure=f'{c} (forward + backward), median {clock_name} ms', value=1e3 * m, goal='')
                        for c, m in medians.items()]
                out += [dict(benchmark=name, measure=f'manual_bptt / ({c}), {clock_name} time',
                             value=medians['manual_bptt'] / medians[c], goal='<= 1.0') for c in medians if c != 'manual_bptt']
        return out
    finally: torch.set_num_threads(saved)


if __name__ == '__main__':
    quick = '--quick' in sys.argv
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads available, timing with 1; "
          f"ScratchRNN {'found' if _scratch_rnn() else 'not in this checkout'}")
    table = rows(quick=quick)
    width = max(len(r['measure']) for r in table)
    for r in table:
        ok = '' if not r['goal'] else ('  ok' if r['value'] <= float(r['goal'].split()[-1]) else '  MISSES GOAL')
        print(f"{r['benchmark']:<36} {r['measure']:<{width}} {r['value']:9.3f} {r['goal']:>7}{ok}")
    import resource
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
