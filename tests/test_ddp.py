"""Data-parallel `rnn-lit train` under torchrun: 2 processes on the CPU (gloo over 127.0.0.1, a free port) end at the
same weights as one process (the command's `main`, in this test process) with the same global --batch-size and seed,
to float32 rounding; and a 2-process run stopped inside the epoch with --stop-after (its carried states gathered into
the checkpoint) resumes in 1 process to the same weights. Tiny settings, one epoch: about half a minute on an idle
2-core machine."""
import os, socket, subprocess, sys
import pytest
import torch
from conftest import ROOT, run_here

pytestmark = pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(), reason='no gloo backend')
# `make test` runs this file's tests in one process (tests/conftest.py `group_of`): the one-process reference run is made once
ENV = {**os.environ, 'PYTHONPATH': str(ROOT), 'PYTHONHASHSEED': '0', 'OMP_NUM_THREADS': '1', 'GLOO_SOCKET_IFNAME': 'lo'}
TINY = ['--max-chars', '6000', '--hidden', '16', '--steps', '16', '--batch-size', '4', '--epochs', '1', '--device', 'cpu']

def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def train(*args, processes=1) -> str:
    """Run `rnn-lit train` from this checkout under torchrun with `processes` processes on 127.0.0.1, or with one
    through the command's `main` in this process; returns what it printed to stderr."""
    if processes == 1:
        status, err = run_here('train', *args)
        assert status == 0, err[-3000:]
        return err
    launch = [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={processes}', '--nnodes=1',
              '--master-addr=127.0.0.1', f'--master-port={free_port()}', '-m']
    r = subprocess.run(launch + ['rnn_lit.cli', 'train', *map(str, args)], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stderr

def load(path): return torch.load(path, weights_only=True)

@pytest.fixture(scope='module')
def one_process(tmp_path_factory):
    "The reference: one process, all 4 streams."
    out = tmp_path_factory.mktemp('one') / 'one.pt'
    train(*TINY, '--out', out)
    return load(out)

def assert_same_weights(a, b):
    for k in b['state_dict']: torch.testing.assert_close(a['state_dict'][k], b['state_dict'][k])  # float32 rounding

def test_two_processes_equal_one(tmp_path, one_process):
    two = train(*TINY, '--out', tmp_path / 'two.pt', processes=2)
    assert 'in 2 processes of 2 streams each' in two and two.count('saved ') == 1, two  # process 0 alone prints
    ckpt = load(tmp_path / 'two.pt')
    assert_same_weights(ckpt, one_process)
    assert (ckpt['info']['processes'], ckpt['info']['steps']) == (2, one_process['info']['steps'])
    assert ckpt['info']['valid_loss'] == pytest.approx(one_process['info']['valid_loss'], rel=1e-4)
    assert not [f for f in tmp_path.iterdir() if f.name.startswith('.')]  # written atomically: no temporary file left

def test_stop_in_two_resume_in_one(tmp_path, one_process):
    stopped = train(*TINY, '--stop-after', 30, '--out', tmp_path / 'part.pt', processes=2)
    assert 'saved the weights of step 30' in stopped, stopped
    carry = load(tmp_path / 'part.pt')['train']['carry']
    assert [tuple(t.shape) for t in carry] == [(1, 4, 16), (1, 4, 16)]  # (h, c) of all 4 streams, gathered from both processes
    train('--resume', tmp_path / 'part.pt', '--device', 'cpu')
    assert_same_weights(load(tmp_path / 'part.pt'), one_process)
