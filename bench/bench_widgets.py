"""Widget redraw latency: for every chapter's `*_widget()`, the time from setting its first control to the
redrawn picture as PNG bytes (the callback runs synchronously when the value changes, as in a kernel; a
`FrameWidget` renders its PNG inside the callback, an `interactive` one is rendered here as Jupyter's inline
backend does). Also the cost of each widget's copy for the site: pictures, kB and seconds to draw them.

  python bench/bench_widgets.py [--quick]
"""
import importlib, inspect, os, pkgutil, statistics, sys, time
os.environ.setdefault('MPLBACKEND', 'Agg')

def widget_factories():
    "(module name, function name, function) for every exported function of rnn_lit named *_widget."
    import rnn_lit
    out = []
    for m in sorted(pkgutil.iter_modules(rnn_lit.__path__), key=lambda m: m.name):
        if m.name.startswith('_') or m.name == 'cli': continue
        mod = importlib.import_module(f'rnn_lit.{m.name}')
        for name in getattr(mod, '__all__', []):
            f = getattr(mod, name)
            if name.endswith('_widget') and inspect.isfunction(f): out.append((m.name, name, f))
    return out

def _values(ctrl):
    "Two different values for the control `ctrl`, to alternate between."
    import ipywidgets as W
    if isinstance(ctrl, W.SelectionSlider):  # up to 12 values not seen before: a reader dragging the slider
        vals = [o[1] if isinstance(o, tuple) else o for o in ctrl.options]
        others = [v for v in vals if v != ctrl.value]
        return others[::max(1, len(others) // 12)][:12] or [ctrl.value]
    if isinstance(ctrl, (W.IntSlider, W.FloatSlider, W.FloatLogSlider)):
        return [ctrl.max if ctrl.value != ctrl.max else ctrl.min, ctrl.value]
    if isinstance(ctrl, (W.Dropdown, W.ToggleButtons, W.RadioButtons, W.Select)):
        vals = [o[1] if isinstance(o, tuple) else o for o in ctrl.options]
        other = next(v for v in vals if v != ctrl.value)
        return [other, ctrl.value]
    if isinstance(ctrl, (W.Text, W.Textarea)):
        words = ctrl.value.split()
        return [' '.join(words[1:]) or ctrl.value + ' x', ctrl.value]
    if isinstance(ctrl, W.Checkbox): return [not ctrl.value, ctrl.value]
    raise TypeError(f'no way to change a {type(ctrl).__name__}')

def redraw_ms(w, repeats=9) -> float:
    "Median milliseconds for `w` to redraw after its first control changes (through `_values`, in turn), rendering included."
    import io
    import matplotlib.pyplot as plt
    ctrl, times = (next(iter(w.inputs.values())) if hasattr(w, 'inputs') else w.children[0]), []
    values = _values(ctrl)
    for i in range(repeats):
        t0 = time.perf_counter()
        ctrl.value = values[i % len(values)]
        for n in plt.get_fignums():  # what Jupyter's inline backend does at the end of the callback
            plt.figure(n).savefig(io.BytesIO(), format='png')
        times.append(time.perf_counter() - t0)
        plt.close('all')
    return 1000 * statistics.median(times)

def _demo_args(mod:str, name:str):
    "Arguments for the widgets that need trained results: small stand-ins (redraw cost does not depend on training)."
    import torch
    if name == 'blank_widget':
        from rnn_lit.memory import gap_sweep, memory_models
        return (gap_sweep(memory_models(), gaps=(0, 5), seeds=(0,), fit_kwargs=dict(epochs=1), n_train=64, n_valid=64),)
    if name == 'next_word_widget':
        from rnn_lit.model import Model, blank_tasks_28
        task = blank_tasks_28(gaps=(5,))[5]
        return Model(len(task.vocab), len(task.answers), 12, 1), task
    if name == 'neuron_widget':
        text = 'def f(x):\n    return "x" * x\n' * 5
        return text, torch.randn(len(text), 32)
    return ()

def rows(quick=False):
    import matplotlib.pyplot as plt
    out = []
    for mod, name, f in widget_factories():
        try: w = f(*_demo_args(mod, name))
        except TypeError as e:
            out.append(dict(benchmark=f'{mod}.{name}', measure='redraw (median ms)', value=float('nan'), goal='< 100', note=str(e)))
            continue
        plt.close('all')
        out.append(dict(benchmark=f'{mod}.{name}', measure='redraw (median ms)', value=redraw_ms(w, 5 if quick else 11), goal='< 100'))
        if hasattr(w, 'site_frames') and not quick:
            t0 = time.perf_counter(); frames = w.site_frames(); secs = time.perf_counter() - t0
            out += [dict(benchmark=f'{mod}.{name}', measure='site pictures', value=float(len(frames)), goal=''),
                    dict(benchmark=f'{mod}.{name}', measure='site kB (unique pictures)', value=sum(map(len, set(frames))) / 1000, goal=''),
                    dict(benchmark=f'{mod}.{name}', measure='site pictures (s to draw)', value=secs, goal='')]
    return out

if __name__ == '__main__':
    sys.path.insert(0, os.path.dirname(__file__))
    from run import print_table
    print_table(rows('--quick' in sys.argv))
