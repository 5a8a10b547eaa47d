"""Speed of ScratchLSTM / ScratchGRU against torch.nn.LSTM / nn.GRU: forward + backward on CPU.

Run `python tests/bench/bench_gated.py [--quick] [--threads N]`. Each repeat times every model once, in turn
(interleaved, so a change of machine load hits all of them alike); the table shows medians and the ratio
scratch / torch. Both sides run under the same `torch.set_num_threads`. Not collected by pytest.
"""
import argparse, statistics, sys, time
from pathlib import Path
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from rnn_lit.gated import ScratchLSTM, ScratchGRU

SHAPES = [dict(L=64, N=32, H_in=28, H_out=128), dict(L=25, N=1, H_in=65, H_out=100)]
GOAL = '<= 1.0 (bar 1.3)'

def _fwd_bwd(model, x):
    "One forward and backward pass; the loss is the sum of the output."
    output, _ = model(x)
    output.sum().backward()

def _time_interleaved(fns:dict, repeats:int, warmup:int=3) -> dict:
    "Median seconds of each function, timing them in turn within every repeat."
    for f in fns.values():
        for _ in range(warmup): f()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter(); f(); times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}

def rows(quick:bool=False, # fewer repeats, for a smoke test
         threads:int=1, # torch.set_num_threads for every model
        ) -> list:
    "The benchmark table: one dict per row with keys benchmark, measure, value, goal."
    torch.set_num_threads(threads)
    repeats, out = (5 if quick else 31), []
    for shape in SHAPES:
        L, N, H_in, H_out = shape['L'], shape['N'], shape['H_in'], shape['H_out']
        x = torch.randn(L, N, H_in, generator=torch.Generator().manual_seed(0))
        where = f'L={L} N={N} H_in={H_in} H_out={H_out}'
        for name, ours_cls, torch_cls in (('LSTM', ScratchLSTM, nn.LSTM), ('GRU', ScratchGRU, nn.GRU)):
            theirs = torch_cls(H_in, H_out)
            ours = ours_cls(H_in, H_out); ours.load_state_dict(theirs.state_dict())
            fns = {'ours': lambda: _fwd_bwd(ours, x), 'torch': lambda: _fwd_bwd(theirs, x)}
            if name == 'LSTM':  # torch's CPU LSTM runs oneDNN's fused kernel; its plain ATen loop, for reference
                def plain():
                    with torch.backends.mkldnn.flags(enabled=False): _fwd_bwd(theirs, x)
                fns['torch_no_onednn'] = plain
            t = _time_interleaved(fns, repeats)
            out.append(dict(benchmark=f'Scratch{name} / nn.{name} fwd+bwd, {where}', measure='time ratio',
                            value=t['ours'] / t['torch'], goal=GOAL))
            out.append(dict(benchmark=f'Scratch{name} fwd+bwd, {where}', measure='median ms', value=1e3 * t['ours'], goal=''))
            out.append(dict(benchmark=f'nn.{name} fwd+bwd, {where}', measure='median ms', value=1e3 * t['torch'], goal=''))
            if 'torch_no_onednn' in t:
                out.append(dict(benchmark=f'ScratchLSTM / nn.LSTM without oneDNN, {where}', measure='time ratio',
                                value=t['ours'] / t['torch_no_onednn'], goal='(reference)'))
    return out

def print_table(table:list):
    w = max(len(r['benchmark']) for r in table)
    print(f"{'benchmark':{w}s}  {'measure':10s}  {'value':>8s}  goal")
    for r in table: print(f"{r['benchmark']:{w}s}  {r['measure']:10s}  {r['value']:8.2f}  {r['goal']}")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--quick', action='store_true', help='5 repeats instead of 31')
    p.add_argument('--threads', type=int, default=1, help='torch.set_num_threads for both sides (default 1)')
    a = p.parse_args()
    print(f'torch {torch.__version__}, {a.threads} thread(s)')
    print_table(rows(quick=a.quick, threads=a.threads))
