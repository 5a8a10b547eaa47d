"""Data-parallel `rnn-lit train` under torchrun: 2 processes on the CPU (gloo over 127.0.0.1, a free port) end at the
same weights as one process with the same global --batch-size and seed, to float32 rounding; and a 2-process run
stopped with --stop-after resumes in 1 process to the same weights. Tiny settings: well under a minute."""
import os, socket, subprocess, sys
from pathlib import Path
import pytest
import torch
from conftest import ROOT

ENV = {**os.environ, 'PYTHONPATH': str(ROOT), 'PYTHONHASHSEED': '0', 'OMP_NUM_THREADS': '1', 'GLOO_SOCKET_IFNAME': 'lo'}
TINY = ['--max-chars', '6000', '--hidden', '16', '--steps', '16', '--batch-size', '4', '--epochs', '2', '--device', 'cpu']

def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def train(*args, processes=1):
    "Run `rnn-lit train` from this checkout: directly, or under torchrun with `processes` processes on 127.0.0.1."
    launch = [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={processes}', '--nnodes=1',
              '--master-addr=127.0.0.1', f'--master-port={free_port()}', '-m'] if processes > 1 else [sys.executable, '-m']
    r = subprocess.run(launch + ['rnn_lit.cli', 'train', *map(str, args)], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    return r

def weights(path):
    return torch.load(path, weights_only=True)['state_dict']

@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(), reason='no gloo backend')
def test_two_processes_equal_one(tmp_path):
    two = train(*TINY, '--out', tmp_path / 'two.pt', processes=2)
    train(*TINY, '--out', tmp_path / 'one.pt')
    assert 'in 2 processes of 2 streams each' in two.stderr and two.stderr.count('saved ') == 1, two.stderr  # process 0 alone prints
    a, b = weights(tmp_path / 'two.pt'), weights(tmp_path / 'one.pt')
    for k in b: torch.testing.assert_close(a[k], b[k])  # float32 rounding: the gradient is summed in another order
    info = torch.load(tmp_path / 'two.pt', weights_only=True)['info']
    assert info['processes'] == 2 and info['steps'] == torch.load(tmp_path / 'one.pt', weights_only=True)['info']['steps']
    assert not [f for f in tmp_path.iterdir() if f.name.startswith('.')]  # no temporary file left behind

@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(), reason='no gloo backend')
def test_stop_in_two_resume_in_one(tmp_path):
    train(*TINY, '--out', tmp_path / 'whole.pt')
    train(*TINY, '--stop-after', 30, '--out', tmp_path / 'part.pt', processes=2)  # inside the first epoch: the carried state is gathered
    train('--resume', tmp_path / 'part.pt', '--device', 'cpu')
    a, b = weights(tmp_path / 'part.pt'), weights(tmp_path / 'whole.pt')
    for k in b: torch.testing.assert_close(a[k], b[k])
