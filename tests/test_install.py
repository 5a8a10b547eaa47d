"""What `pip install .` gives a user: a wheel with every module, the console script, the pinned ranges."""
import os, re, shutil, subprocess, sys, zipfile, configparser
from pathlib import Path
from conftest import ROOT

def _settings():
    c = configparser.ConfigParser(delimiters=['=']); c.read(ROOT/'settings.ini')
    return c['DEFAULT']

def test_wheel_has_modules_entry_point_and_requirements(tmp_path):
    src = tmp_path/'src'  # build from a copy: a build leaves build/ and *.egg-info behind
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns('.venv', '.git', '_build', '_site', 'nbs', 'tests', '*.egg-info', 'build'))
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(tmp_path), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    whl = next(tmp_path.glob('rnn_lit-*.whl'))
    assert _settings()['version'] in whl.name
    names = zipfile.ZipFile(whl).namelist()
    for mod in sorted((ROOT/'rnn_lit').glob('*.py')):
        assert f'rnn_lit/{mod.name}' in names, f'{mod.name} missing from the wheel'
    c_files = sorted((ROOT/'rnn_lit'/'csrc').glob('*.[ch]'))
    assert c_files, 'rnn_lit/csrc has no C files'
    for f in c_files:  # the compiled LSTM loop is built from them on first use
        assert f'rnn_lit/csrc/{f.name}' in names, f'csrc/{f.name} missing from the wheel'
    _compiled_loop_builds_from(whl, tmp_path)
    meta = zipfile.ZipFile(whl).read(next(n for n in names if n.endswith('METADATA'))).decode()
    torch_req = re.search(r'^Requires-Dist: torch(.*)$', meta, re.M)
    assert torch_req and '<' in torch_req.group(1), 'torch needs an upper bound (an unbounded torch pulls a CUDA build)'
    if _settings().get('console_scripts'):
        ep = zipfile.ZipFile(whl).read(next(n for n in names if n.endswith('entry_points.txt'))).decode()
        assert 'rnn-lit = rnn_lit.cli:main' in ep

def _compiled_loop_builds_from(whl, tmp_path):
    "The wheel's own C files are what the library reads and, where there is a C compiler, compiles."
    site = tmp_path/'site'
    zipfile.ZipFile(whl).extractall(site)
    code = ("import rnn_lit.compiled as c; print(c.c_source('lstm.c') == open(c.__file__.replace('compiled.py', 'csrc/lstm.c')).read(), "
            "c.__file__.startswith(%r)); print(c.lstm_kernels_status())" % str(site))
    env = {**os.environ, 'PYTHONPATH': str(site), 'RNN_LIT_CACHE': str(tmp_path/'cache')}
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    read, status = r.stdout.splitlines()
    assert read == 'True True', r.stdout
    if shutil.which(os.environ.get('CC', 'cc')): assert status.startswith('compiled with'), status
    else: print(f'no C compiler here: {status}')

def test_import_is_cheap_and_lazy():
    code = "import sys, rnn_lit; print(rnn_lit.__version__, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [_settings()['version'], 'False'], out

def test_public_names_resolve():
    import rnn_lit
    for name in rnn_lit.__all__: assert getattr(rnn_lit, name) is not None, name

def test_constraints_pin_torch():
    assert re.search(r'^torch==\d', (ROOT/'.ci'/'constraints.txt').read_text(), re.M)

def test_modules_compile_without_warnings():
    "A notebook's LaTeX can end up in a module docstring, where a backslash is an invalid escape."
    import warnings
    for mod in sorted((ROOT/'rnn_lit').glob('*.py')):
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            compile(mod.read_text(), str(mod), 'exec')
