"""The `rnn-lit` command, run for real in a subprocess: as `python -m rnn_lit.cli`, and through the installed
console script next to the running interpreter (skipped where the package is not installed).
Tiny settings throughout: the whole file runs in well under a minute."""
import os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import ROOT

ENTRY = Path(sys.executable).parent / ('rnn-lit.exe' if os.name == 'nt' else 'rnn-lit')
MODULE = [sys.executable, '-m', 'rnn_lit.cli']
TINY = ['--max-chars', '6000', '--hidden', '16', '--steps', '16', '--batch-size', '4', '--epochs', '1']
ENV = {**os.environ, 'PYTHONPATH': str(ROOT), 'PYTHONHASHSEED': '0', 'OMP_NUM_THREADS': '1'}

def commands():
    "The two ways to run the command: the module, and the installed console script (when it is installed)."
    return [pytest.param(MODULE, id='python-m'),
            pytest.param([str(ENTRY)], id='entry-point', marks=pytest.mark.skipif(not ENTRY.exists(), reason=f'{ENTRY} is not installed'))]

def run(cmd, *args, timeout=60):
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=timeout)

@pytest.fixture(scope='module')
def tiny_model(tmp_path_factory):
    "One tiny model trained by the real command, shared by the sampling tests."
    out = tmp_path_factory.mktemp('model') / 'tiny.pt'
    r = run(MODULE, 'train', *TINY, '--out', out)
    assert r.returncode == 0, r.stderr
    return out

@pytest.mark.parametrize('cmd', commands())
def test_train_then_sample(cmd, tmp_path):
    out = tmp_path / 'm.pt'
    r = run(cmd, 'train', *TINY, '--cell', 'gru', '--out', out)
    assert r.returncode == 0, r.stderr
    assert 'train' in r.stderr and 'loss=' in r.stderr  # the progress bar shows the loss
    assert f'saved {out}' in r.stderr and out.exists()
    r = run(cmd, 'sample', out, '--prime', 'def ', '--temperature', '0.7', '-n', '50', '--seed', '1')
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('def ') and len(r.stdout) == len('def ') + 50 + 1
    if cmd is MODULE:  # once is enough: a seed makes the sample reproducible
        again = run(cmd, 'sample', out, '--prime', 'def ', '--temperature', '0.7', '-n', '50', '--seed', '1')
        assert again.stdout == r.stdout

def test_train_on_a_file(tmp_path):
    text = tmp_path / 'song.txt'
    text.write_text('la la la, the rain in spain falls mainly on the plain\n' * 40, encoding='utf-8')
    out = tmp_path / 'song.pt'
    r = run(MODULE, 'train', text, '--hidden', '16', '--steps', '16', '--batch-size', '4', '--epochs', '2', '--cell', 'rnn', '--out', out)
    assert r.returncode == 0, r.stderr
    assert str(text) in r.stderr.splitlines()[0]
    r = run(MODULE, 'sample', out, '--prime', 'la', '-n', '20', '-t', '0.5')
    assert r.returncode == 0 and r.stdout.startswith('la'), r.stderr

@pytest.mark.parametrize('cmd', commands())
@pytest.mark.parametrize('sub', [[], ['train'], ['sample']])
def test_help(cmd, sub):
    r = run(cmd, *sub, '--help')
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('usage: rnn-lit'), r.stdout
    for word in {(): ['train', 'sample'], ('train',): ['--cell {rnn,lstm,gru}', '--hidden N', '--layers N', '--steps N', '--epochs N', '--out PATH'],
                 ('sample',): ['--prime TEXT', '--temperature T', '-n N']}[tuple(sub)]:
        assert word in r.stdout, (word, r.stdout)

def _errors(tmp_path, model):
    (tmp_path / 'latin1.txt').write_bytes('caf\xe9 cr\xe8me\n'.encode('latin-1'))
    (tmp_path / 'empty.txt').write_bytes(b'')
    (tmp_path / 'junk.pt').write_bytes(os.urandom(500))
    return [
        (['train', tmp_path / 'missing.txt'], 2, 'missing.txt: no such file'),
        (['train', tmp_path / 'latin1.txt'], 2, 'latin1.txt: not UTF-8 text'),
        (['train', tmp_path / 'empty.txt'], 2, 'the corpus is empty'),
        (['train', '--hidden', '0'], 2, "argument --hidden: expected an integer >= 1, got '0'"),
        (['train', '--epochs', 'two'], 2, "argument --epochs: expected an integer >= 1, got 'two'"),
        (['train', '--lr', '-1'], 2, "argument --lr: expected a finite number > 0, got '-1'"),
        (['sample', model, '--temperature', '0'], 2, "expected a finite number > 0, got '0'"),
        (['sample', model, '-n', '-1'], 2, "argument -n: expected an integer >= 0, got '-1'"),
        (['sample', model, '--prime', '\u2603'], 2, "prime: '\u2603' (at position 0) is not in the vocabulary"),
        (['sample', tmp_path / 'missing.pt'], 1, 'missing.pt: no such checkpoint file'),
        (['sample', tmp_path / 'junk.pt'], 1, 'junk.pt: not a readable rnn_lit checkpoint'),
        ([], 2, 'usage: rnn-lit'),
    ]

def test_clear_errors(tmp_path, tiny_model):
    for args, status, message in _errors(tmp_path, tiny_model):
        r = run(MODULE, *args)
        assert r.returncode == status, (args, r.returncode, r.stderr)
        assert message in r.stderr, (args, r.stderr)
        assert 'Traceback' not in r.stderr, (args, r.stderr)

@pytest.mark.skipif(not ENTRY.exists(), reason=f'{ENTRY} is not installed')
def test_clear_errors_entry_point(tmp_path):
    r = run([str(ENTRY)], 'train', tmp_path / 'missing.txt')
    assert r.returncode == 2 and 'missing.txt: no such file' in r.stderr and 'Traceback' not in r.stderr, r.stderr

@pytest.mark.skipif(os.name == 'nt', reason='SIGINT to a child process is POSIX-only')
def test_ctrl_c_saves_a_loadable_checkpoint(tmp_path):
    out = tmp_path / 'interrupted.pt'
    args = ['train', '--max-chars', '20000', '--hidden', '16', '--steps', '16', '--batch-size', '4', '--epochs', '1000', '--out', str(out)]
    p = subprocess.Popen(MODULE + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, cwd=ROOT)
    try:
        seen, deadline = b'', time.monotonic() + 60
        while b'loss=' not in seen and time.monotonic() < deadline and p.poll() is None:  # the progress bar after a step
            seen += os.read(p.stderr.fileno(), 4096)
        assert b'loss=' in seen and p.poll() is None, seen.decode(errors='replace')
        p.send_signal(signal.SIGINT)
        _, rest = p.communicate(timeout=60)
        err = (seen + rest).decode(errors='replace')
    finally:
        if p.poll() is None: p.kill()
    assert p.returncode == 130, err
    assert 'interrupted: saved the weights of step' in err and 'Traceback' not in err, err
    assert not [f for f in tmp_path.iterdir() if f.name.startswith('.')]  # no temporary file left behind
    from rnn_lit.cli import load_checkpoint
    model, vocab = load_checkpoint(out)
    assert model.info['interrupted'] is True and model.info['steps'] >= 1
    r = run(MODULE, 'sample', out, '-n', '10')
    assert r.returncode == 0, r.stderr
