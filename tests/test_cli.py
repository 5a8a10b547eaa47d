"""The `rnn-lit` command, run for real in a subprocess: as `python -m rnn_lit.cli`, and through the installed
console script next to the running interpreter (skipped where the package is not installed): training, sampling,
--help, errors and Ctrl-C. The error messages, a corpus from a file, and stopping and resuming a run are checked by
calling the command's `main(argv)` in this process (each subprocess starts a Python and imports torch, and its first
optimizer imports torch._dynamo: about 5 s of CPU); its exit status and stderr are what the command gives, as the
subprocess checks of both ways to run it show (`test_clear_errors_entry_point`, `test_clear_errors_in_a_subprocess`).
Tiny settings throughout."""
import os, signal, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import ROOT, run_here

# `make test` runs this file's tests in one process (tests/conftest.py `group_of`): its module fixtures are made once
ENTRY = Path(sys.executable).parent / ('rnn-lit.exe' if os.name == 'nt' else 'rnn-lit')
MODULE = [sys.executable, '-m', 'rnn_lit.cli']
TINY = ['--max-chars', '6000', '--hidden', '16', '--steps', '16', '--batch-size', '4', '--epochs', '1']
ENV = {**os.environ, 'PYTHONPATH': str(ROOT), 'PYTHONHASHSEED': '0', 'OMP_NUM_THREADS': '1'}

def commands():
    "The two ways to run the command: the module, and the installed console script (when it is installed)."
    return [pytest.param(MODULE, id='python-m'),
            pytest.param([str(ENTRY)], id='entry-point', marks=pytest.mark.skipif(not ENTRY.exists(), reason=f'{ENTRY} is not installed'))]

def run(cmd, *args, timeout=300):  # generous: a loaded 2-core machine runs these several times slower
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=timeout)

@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    """One tiny model trained by the command's `main`, with a held-out tenth and a --dropout that a 1-layer net ignores:
    (its checkpoint, what the command printed), shared by the tests of its messages, its errors and sampling."""
    out = tmp_path_factory.mktemp('model') / 'tiny.pt'
    status, err = run_here('train', *TINY, '--dropout', '0.2', '--valid-frac', '0.1', '--out', out)
    assert status == 0, err
    return out, err

@pytest.fixture(scope='module')
def tiny_model(tiny_run): return tiny_run[0]

@pytest.mark.parametrize('cmd', commands())
def test_train_then_sample(cmd, tmp_path, capsys):
    out = tmp_path / 'm.pt'
    r = run(cmd, 'train', *TINY, '--cell', 'gru', '--out', out)
    assert r.returncode == 0, r.stderr
    assert 'train' in r.stderr and 'loss=' in r.stderr  # the progress bar shows the loss
    assert f'saved {out}' in r.stderr and out.exists()
    r = run(cmd, 'sample', out, '--prime', 'def ', '--temperature', '0.7', '-n', '50', '--seed', '1')
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('def ') and len(r.stdout) == len('def ') + 50 + 1
    if cmd is MODULE:  # once is enough: a seed makes the sample reproducible (here through main(), in this process)
        capsys.readouterr()
        status, err = run_here('sample', out, '--prime', 'def ', '--temperature', '0.7', '-n', '50', '--seed', '1')
        assert status == 0 and capsys.readouterr().out == r.stdout, err

def test_train_on_a_file(tmp_path, capsys):
    text = tmp_path / 'song.txt'
    text.write_text('la la la, the rain in spain falls mainly on the plain\n' * 40, encoding='utf-8')
    out = tmp_path / 'song.pt'
    status, err = run_here('train', text, '--hidden', '16', '--steps', '16', '--batch-size', '4', '--epochs', '2', '--cell', 'rnn', '--out', out)
    assert status == 0, err
    assert str(text) in err.splitlines()[0]
    capsys.readouterr()
    status, err = run_here('sample', out, '--prime', 'la', '-n', '20', '-t', '0.5')
    assert status == 0 and capsys.readouterr().out.startswith('la'), err

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
    import torch
    (tmp_path / 'latin1.txt').write_bytes('caf\xe9 cr\xe8me\n'.encode('latin-1'))
    (tmp_path / 'empty.txt').write_bytes(b'')
    (tmp_path / 'junk.pt').write_bytes(os.urandom(500))
    (tmp_path / 'small.txt').write_text('the rain in spain\n' * 50, encoding='utf-8')  # 900 characters
    torch.save({'weights': torch.zeros(3)}, tmp_path / 'foreign.pt')
    old = torch.load(model, weights_only=True); old.update(version=1); del old['train']  # what an older rnn-lit wrote
    torch.save(old, tmp_path / 'v1.pt')
    return [
        (['train', '--valid-frac', '0'], 2, "argument --valid-frac: expected a fraction in (0, 0.5], got '0'"),
        (['train', '--valid-frac', '0.51'], 2, "argument --valid-frac: expected a fraction in (0, 0.5], got '0.51'"),
        (['train', '--dropout', '1'], 2, "argument --dropout: expected a probability in [0, 1), got '1'"),
        (['train', '--dropout', '-0.5'], 2, "argument --dropout: expected a probability in [0, 1), got '-0.5'"),
        (['train', '--device', 'tpu'], 2, "argument --device: invalid choice: 'tpu'"),
        *([] if torch.cuda.is_available() else [(['train', '--device', 'cuda'], 2, '--device cuda: CUDA is not available here')]),
        (['train', '--resume', tmp_path / 'missing.pt'], 1, f"--resume {tmp_path / 'missing.pt'}: no such checkpoint file"),
        (['train', '--resume', tmp_path / 'junk.pt'], 1, 'junk.pt: not a readable rnn_lit checkpoint'),
        (['train', '--resume', tmp_path / 'foreign.pt'], 1, 'foreign.pt: not an rnn_lit language-model checkpoint'),
        (['train', '--resume', tmp_path / 'v1.pt'], 1, 'v1.pt: checkpoint version 1 was written by an older rnn_lit'),
        (['train', '--resume', model, '--hidden', '32'], 2, 'the run was started with --hidden 16, not 32: leave --hidden out'),
        (['train', '--resume', model, '--cell', 'rnn'], 2, 'the run was started with --cell lstm, not rnn'),
        (['train', '--resume', model], 2, 'the run is complete'),
        (['train', tmp_path / 'small.txt', '--batch-size', '4', '--steps', '16', '--valid-frac', '0.05'], 2,
         '--valid-frac 0.05 holds out 45 characters, too few for one validation batch'),
        (['train', tmp_path / 'small.txt', '--batch-size', '64', '--steps', '16'], 2, 'too few for one batch of --batch-size 64 x --steps 16'),
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
    "Each expected failure: its exit status and a one-line message naming the problem; no traceback, nothing overwritten."
    guard = tmp_path / 'guard.pt'
    guard.write_bytes(b'must survive')
    before = tiny_model.read_bytes()
    for args, status, message in _errors(tmp_path, tiny_model):
        if args and args[0] == 'train' and '--resume' not in args: args = args + ['--out', guard]  # a --resume writes to its checkpoint
        code, err = run_here(*args)  # an exception escaping main() fails here: the user would see a traceback
        assert code == status, (args, code, err)
        assert message in err, (args, err)
        assert 'Traceback' not in err, (args, err)
        if args: assert len([l for l in err.splitlines() if not l.startswith(('usage:', ' '))]) == 1, (args, err)  # one line
    assert guard.read_bytes() == b'must survive' and tiny_model.read_bytes() == before  # nothing overwritten

def test_clear_errors_in_a_subprocess(tmp_path, tiny_model):
    "`python -m rnn_lit.cli` gives main()'s status and message as a process: a usage error and a failure at run time."
    for args, status, message in [(['sample', tiny_model, '-n', '-1'], 2, "argument -n: expected an integer >= 0, got '-1'"),
                                  (['sample', tmp_path / 'junk.pt'], 1, 'junk.pt: not a readable rnn_lit checkpoint')]:
        if args[1] == tmp_path / 'junk.pt': args[1].write_bytes(os.urandom(500))
        r = run(MODULE, *args)
        assert r.returncode == status and message in r.stderr and 'Traceback' not in r.stderr, (args, r.returncode, r.stderr)
        assert len([l for l in r.stderr.splitlines() if not l.startswith(('usage:', ' '))]) == 1, (args, r.stderr)

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
        _, rest = p.communicate(timeout=300)
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

def _load(path):
    import torch
    return torch.load(path, weights_only=True)

TWO = TINY[:-1] + ['2']  # --epochs 2

@pytest.fixture(scope='module')
def two_epochs(tmp_path_factory):
    "Two epochs in one go: the run the stopped-and-resumed runs must equal (one run for both)."
    out = tmp_path_factory.mktemp('whole') / 'whole.pt'
    status, err = run_here('train', *TWO, '--out', out)
    assert status == 0, err
    return _load(out)

@pytest.mark.parametrize('stop', ['inside', 'end'])
def test_stop_and_resume_equals_uninterrupted(tmp_path, stop, two_epochs):
    "Two epochs in one go == stopped (inside the first epoch, or at its end) and resumed with nothing but the checkpoint."
    import torch
    two, whole = TWO, two_epochs
    per_epoch = whole['info']['steps'] // 2
    status, err = run_here('train', *two, '--stop-after', per_epoch // 2 if stop == 'inside' else per_epoch, '--out', tmp_path / 'part.pt')
    assert status == 0 and 'continue with --resume' in err, err
    status, err = run_here('train', '--resume', tmp_path / 'part.pt')
    assert status == 0 and err.startswith('resuming a 1-layer LSTM'), err
    part = _load(tmp_path / 'part.pt')
    for k, v in whole['state_dict'].items(): torch.testing.assert_close(part['state_dict'][k], v)  # float32 rounding
    assert part['info']['valid_loss'] == pytest.approx(whole['info']['valid_loss'], rel=1e-5)
    assert 'validation loss' in err and 'perplexity' in err

def test_validation_and_dropout_warning(tiny_run):
    out, err = tiny_run
    assert 'warning: --dropout 0.2 has no effect with --layers 1' in err and 'Traceback' not in err, err
    assert 'epoch 1: training loss' in err and 'nats/char, perplexity' in err, err
    assert ' on cpu' in err.splitlines()[0] or ' on cuda' in err.splitlines()[0], err  # the device used
    info = _load(out)['info']
    assert info['valid_loss'] > 0 and info['perplexity'] == pytest.approx(2.718281828459045 ** info['valid_loss'])

def _cuda() -> bool:
    import torch
    return torch.cuda.is_available()

@pytest.mark.skipif(not _cuda(), reason='no CUDA here')
def test_train_resume_and_sample_on_cuda(tmp_path):
    "Where a GPU is lent: --device cuda trains there, a stopped run resumes there, and the checkpoint samples (on the CPU)."
    out, two = tmp_path / 'gpu.pt', TINY[:-1] + ['2']
    r = run(MODULE, 'train', *two, '--device', 'cuda', '--stop-after', '5', '--out', out)
    assert r.returncode == 0 and ' on cuda' in r.stderr.splitlines()[0], r.stderr
    r = run(MODULE, 'train', '--resume', out, '--device', 'cuda')
    assert r.returncode == 0 and 'validation loss' in r.stderr, r.stderr
    info = _load(out)['info']
    assert info['device'].startswith('cuda') and info['steps'] > 5
    r = run(MODULE, 'sample', out, '-n', '20', '--seed', '0')
    assert r.returncode == 0 and len(r.stdout) == 1 + 20 + 1, r.stderr
