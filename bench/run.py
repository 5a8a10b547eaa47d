"""`make bench`: every benchmark of rnn_lit, measured side by side in one run, printed as one table.

Each bench/bench_*.py runs in its own process (its peak memory is reported) and returns rows
(benchmark, measure, value, goal). Added here: nbdev_test wall time per notebook and in total, the site
render time from executed notebooks, and the time `import rnn_lit` adds to `import torch`.

  python bench/run.py [--quick] [--only NAME ...]
"""
import json, math, os, platform, re, resource, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

def print_table(rows):
    "Print benchmark rows as an aligned text table."
    cols = ['benchmark', 'measure', 'value', 'goal', 'peak MiB']
    def fmt(r, c):
        v = r.get(c, '')
        if isinstance(v, float): return 'n/a' if math.isnan(v) else (f'{v:.3g}' if abs(v) < 1000 else f'{v:,.0f}')
        return str(v)
    cells = [[fmt(r, c) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) if cells else len(c) for i, c in enumerate(cols)]
    print('  '.join(c.ljust(w) for c, w in zip(cols, widths)))
    print('  '.join('-' * w for w in widths))
    for x in cells: print('  '.join(v.ljust(w) for v, w in zip(x, widths)))
    for r in rows:
        if r.get('note'): print(f"note: {r['benchmark']}: {r['note']}")

_CHILD = """
import json, resource, sys
sys.path.insert(0, {here!r})
mod = __import__({name!r})
rows = mod.rows(quick={quick})
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
for r in rows: r['peak MiB'] = round(peak)
print('@@ROWS@@' + json.dumps(rows))
"""

def run_module(path:Path, quick:bool) -> list:
    "Run the benchmark module `path` in a fresh process; returns its rows with its peak memory."
    code = _CHILD.format(here=str(HERE), name=path.stem, quick=quick)
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    line = next((l for l in r.stdout.splitlines() if l.startswith('@@ROWS@@')), None)
    if r.returncode or line is None:
        return [dict(benchmark=path.stem, measure='(failed)', value=float('nan'), goal='', note=r.stderr.strip()[-300:])]
    return json.loads(line[8:])

def nbdev_test_rows() -> list:
    "Wall time of nbdev_test per notebook (default flags) and of the whole run."
    t0 = time.time()
    r = subprocess.run([str(Path(sys.executable).parent/'nbdev_test'), '--n_workers', '2', '--timing'],
                       capture_output=True, text=True, cwd=ROOT)
    total = time.time() - t0
    out = [dict(benchmark=f'nbdev_test {m.group(1)}', measure='seconds', value=float(m.group(2)), goal='')
           for m in re.finditer(r'^(\S+\.ipynb): (\d+) secs', r.stdout + r.stderr, re.M)]
    out.append(dict(benchmark='nbdev_test (all, 2 workers)', measure='seconds', value=total, goal='< 120',
                    note='' if r.returncode == 0 else 'nbdev_test FAILED'))
    return out

def site_rows() -> list:
    "Seconds to render the site from already executed notebooks (run `make docs` once first)."
    if not (ROOT/'_build'/'exec').exists():
        return [dict(benchmark='site render', measure='seconds', value=float('nan'), goal='', note='run `make docs` first')]
    t0 = time.time()
    r = subprocess.run([sys.executable, str(ROOT/'docs'/'build.py'), '--no-exec'], capture_output=True, text=True, cwd=ROOT)
    return [dict(benchmark='site render (from executed notebooks)', measure='seconds', value=time.time() - t0, goal='',
                 note='' if r.returncode == 0 else 'build FAILED')]

def import_rows(repeats=5) -> list:
    "Median extra seconds that `import rnn_lit` (and its modules) adds to `import torch`."
    def t(code):
        ts = []
        for _ in range(repeats):
            r = subprocess.run([sys.executable, '-c', f'import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)'],
                               capture_output=True, text=True, cwd='/')
            ts.append(float(r.stdout))
        return sorted(ts)[len(ts)//2]
    torch_t = t('import torch')
    lib = t('import torch, rnn_lit')
    mods = t('import torch, rnn_lit, importlib, pkgutil; [importlib.import_module("rnn_lit."+m.name) for m in pkgutil.iter_modules(rnn_lit.__path__)]')
    return [dict(benchmark='import rnn_lit', measure='seconds beyond import torch', value=lib - torch_t, goal=''),
            dict(benchmark='import every rnn_lit module', measure='seconds beyond import torch', value=mods - torch_t, goal='')]

def main(quick=False, only=None):
    import torch
    print(f'rnn_lit benchmarks: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, '
          f'torch {torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}')
    rows = []
    for path in sorted(HERE.glob('bench_*.py')):
        if only and path.stem.removeprefix('bench_') not in only: continue
        t0 = time.time(); rows += run_module(path, quick)
        print(f'  {path.name}: {time.time()-t0:.0f} s', file=sys.stderr)
    if not only:
        rows += import_rows()
        if not quick: rows += nbdev_test_rows() + site_rows()
    print_table(rows)
    return rows

if __name__ == '__main__':
    args = sys.argv[1:]
    only = args[args.index('--only')+1:] if '--only' in args else None
    main('--quick' in args, only)
