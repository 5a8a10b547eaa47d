"""The notebooks are the source: the library must be what `nbdev_export` makes of them, the notebooks
must be what `nbdev_clean` makes of them, and README.md what docs/readme.py makes of nbs/index.ipynb.

The check runs both tools on a temporary copy of the project, so it never touches the working tree:
a failing check leaves your own edits where they were. Fix a failure with `make export`.
"""
import filecmp, shutil, subprocess, sys
from pathlib import Path
from conftest import ROOT

BIN = Path(sys.executable).parent

def _copy(tmp:Path) -> Path:
    dst = tmp/'proj'
    dst.mkdir()
    for name in ('settings.ini', 'setup.py', 'README.md'): shutil.copy2(ROOT/name, dst/name)
    for name in ('nbs', 'rnn_lit', 'docs'):
        shutil.copytree(ROOT/name, dst/name, ignore=shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints', '_proc', '_docs'))
    return dst

def _diff(a:Path, b:Path) -> list:
    "Files that differ, or exist on one side only, between folders `a` and `b` (recursively)."
    c, out = filecmp.dircmp(a, b, ignore=['__pycache__', '.ipynb_checkpoints']), []
    def walk(c, rel):
        out.extend(f'{rel}{n}' for n in c.left_only + c.right_only + c.diff_files)
        out.extend(f'{rel}{n}' for n in c.common_files if not filecmp.cmp(c.left/Path(n), c.right/Path(n), shallow=False) and n not in c.diff_files)
        for n, sub in c.subdirs.items(): walk(sub, f'{rel}{n}/')
    walk(c, '')
    return sorted(set(out))

def test_export_and_clean_leave_no_diff(tmp_path):
    proj = _copy(tmp_path)
    for tool in ('nbdev_export', 'nbdev_clean'):
        r = subprocess.run([str(BIN/tool)], cwd=proj, capture_output=True, text=True)
        assert r.returncode == 0, f'{tool} failed:\n{r.stdout}\n{r.stderr}'
    changed = _diff(ROOT/'rnn_lit', proj/'rnn_lit') + _diff(ROOT/'nbs', proj/'nbs')
    assert not changed, f'nbdev_export/nbdev_clean change these files (run `make export` and commit): {changed}'
    assert not (proj/'pyproject.toml').exists(), 'nbdev_export wrote a pyproject.toml: keep update_pyproject = False'

def test_readme_is_generated_from_index():
    r = subprocess.run([sys.executable, str(ROOT/'docs'/'readme.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr

def test_readme_opens_with_the_two_commands():
    text = (ROOT/'README.md').read_text()
    first_block = text.split('```sh', 1)[1].split('```', 1)[0].strip().splitlines()
    assert [l.split()[:2] for l in first_block] == [['make', 'docs'], ['make', 'test']], first_block

def test_every_notebook_has_cell_ids():
    import json
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        js = json.loads(nb.read_text())
        assert (js['nbformat'], js['nbformat_minor']) >= (4, 5), nb.name
        assert all(c.get('id') for c in js['cells']), f'{nb.name}: a cell has no id'

def test_ci_runs_the_readme_test_command():
    assert 'make test' in (ROOT/'.ci'/'run').read_text()

def _undefined_globals(path:Path, module) -> list:
    "Names that functions in the file at `path` read as globals but that `module` (the file, imported) does not define."
    import builtins, symtable
    out = []
    def walk(table):
        if table.get_type() == 'function':
            out.extend(f'{table.get_name()}: {s.get_name()}' for s in table.get_symbols()
                       if s.is_referenced() and s.is_global() and not hasattr(module, s.get_name()) and not hasattr(builtins, s.get_name()))
        for child in table.get_children(): walk(child)
    walk(symtable.symtable(path.read_text(), str(path), 'exec'))
    return out

def test_exported_code_reads_no_undefined_globals():
    # a notebook runs its exported cells among its other cells, so a function reading a global that only a test cell
    # defines passes nbdev_test and fails in the library; this finds such names in every module
    import importlib
    found = {}
    for path in sorted((ROOT/'rnn_lit').glob('*.py')):
        if path.name.startswith('_'): continue
        names = _undefined_globals(path, importlib.import_module(f'rnn_lit.{path.stem}'))
        if names: found[path.name] = names
    assert not found, f'functions read globals their module does not define (a notebook global?): {found}'
