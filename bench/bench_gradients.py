"""Chapter 5 (rnn_lit.gradients): how fast the spectral lab redraws, and what its computation costs.

The lab (a FrameWidget) builds a 24-unit ScratchRNN and computes ||dh_L/dh_k|| for every k with `jacobian_norms` the
first time a setting is asked for (then keeps them), and redraws its lines and texts in place. Measured: the median wall
time (and CPU time) from setting a control to the new picture (PNG bytes, rendered inside the callback), each change to a
value not seen before where the control has enough of them (so the computation is included), for each of its three
controls at the longest sequence (L = 100), and `jacobian_norms` alone.

  python bench/bench_gradients.py [--quick]
"""
import os, statistics, sys, time
os.environ.setdefault('MPLBACKEND', 'Agg')

def _median_ms(f, repeats:int, clock=time.perf_counter) -> float:
    "Median milliseconds of `f()` by `clock`: wall time, or `time.process_time` for the CPU time this process used."
    f()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = clock(); f(); times.append(clock() - t0)
    return 1000 * statistics.median(times)

def rows(quick=False) -> list:
    import matplotlib.pyplot as plt
    import torch
    from rnn_lit.gradients import spectral_lab_widget, jacobian_norms, rnn_with_sigma_max
    repeats = 5 if quick else 15
    w = spectral_lab_widget()
    sigma, nonlinearity, length = (w.inputs[k] for k in ('sigma_max', 'nonlinearity', 'L'))
    length.value = 100  # the slowest setting
    def change(ctrl, values):
        state = {'i': 0}
        def f():
            state['i'] += 1
            ctrl.value = values[state['i'] % len(values)]  # the picture is rendered in the callback
        return f
    sigmas = w.controls['sigma_max'].values
    out = []
    for name, ctrl, values in [('sigma_max', sigma, sigmas[::3]), ('nonlinearity', nonlinearity, ['sigmoid', 'tanh', 'relu']),
                               ('L', length, w.controls['L'].values[-40:])]:
        bench = f'gradients.spectral_lab_widget: change {name}, L = 100, H_out = 24'
        out.append(dict(benchmark=bench, measure='redraw incl. render (median ms)', value=_median_ms(change(ctrl, values), repeats), goal='< 100'))
        # CPU time is what a redraw costs on an idle machine; wall time on a shared one includes waiting for a core
        out.append(dict(benchmark=bench, measure='the same, CPU time (median ms)',
                        value=_median_ms(change(ctrl, values), repeats, time.process_time), goal='< 100'))
    rnn, x = rnn_with_sigma_max(2, 24, 1.5), 0.1 * torch.randn(100, 2)
    out.append(dict(benchmark='gradients.jacobian_norms, L = 100, H_out = 24', measure='median ms',
                    value=_median_ms(lambda: jacobian_norms(rnn, x), repeats), goal='(part of the redraw)'))
    return out

if __name__ == '__main__':
    sys.path.insert(0, os.path.dirname(__file__))
    from run import print_table
    import torch
    print(f'torch threads: {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores')
    print_table(rows('--quick' in sys.argv))
