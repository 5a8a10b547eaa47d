"""The notebooks are the source: the library must be what `nbdev_export` makes of them, the notebooks
must be what `nbdev_clean` makes of them, and README.md what docs/readme.py makes of nbs/index.ipynb.

The check runs both tools on a temporary copy of the project, so it never touches the working tree:
a failing check leaves your own edits where they were. Fix a failure with `make export`.
"""
import filecmp, json, re, shutil, subprocess, sys
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

def _build_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location('site_build', ROOT/'docs'/'build.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod

NOTEBOOKS = sorted(p.stem for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))

def test_every_notebook_lands_in_exactly_one_part():
    # the rule lives in docs/build.py (`part`); Part I: the index, chapters 01-08, unnumbered lesson pages
    b = _build_module()
    assert set(b.PARTS) == {1, 2}
    for stem in NOTEBOOKS + ['notation', '01_x', '08_x', '09_x', '16_x']:  # today's notebooks and the rule's edges
        k = b.part(stem)
        assert k in b.PARTS, stem
        n = re.match(r'(\d+)_', stem)
        expected = 1 if n is None or 1 <= int(n.group(1)) <= 8 else 2
        assert k == expected, f'{stem}: in part {k}, the rule says {expected}'
    order = [p.stem for p in b.notebooks(ROOT/'nbs')]
    assert order[0] == 'index' and [b.part(s) for s in order] == sorted(b.part(s) for s in order), order

PART_ONE_BANNED = ['oneDNN', 'OpenMP', 'AVX', 'SIMD', 'ctypes', '-march', 'page fault', 'fsync']

def test_part_one_has_no_engineering_words():
    # the lessons carry only the lesson: hardware and durability mechanics live in Part II
    b, found = _build_module(), {}
    for stem in NOTEBOOKS:
        if b.part(stem) != 1: continue
        text = '\n'.join(''.join(c['source']) for c in json.loads((ROOT/'nbs'/f'{stem}.ipynb').read_text())['cells'])
        hits = [w for w in PART_ONE_BANNED if re.search(re.escape(w), text, re.I)]
        if hits: found[stem] = hits
    assert not found, f'Part I notebooks mention engineering words (move that text to Part II): {found}'

def _index_links() -> list:
    cells = json.loads((ROOT/'nbs'/'index.ipynb').read_text())['cells']
    md = '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'markdown')
    return re.findall(r'\]\(([^)\s]+?\.ipynb)(?:#[^)]*)?\)', md)

def test_index_chapter_table_links_every_notebook():
    # every entry of the chapter table is a link to a notebook that exists, and every notebook is listed
    links = _index_links()
    missing = sorted({l for l in links if not (ROOT/'nbs'/l).exists()})
    assert not missing, f'index.ipynb links to notebooks that do not exist: {missing}'
    unlisted = sorted(set(NOTEBOOKS) - {'index'} - {Path(l).stem for l in links})
    assert not unlisted, f'the chapter table of index.ipynb does not list: {unlisted}'

def test_readme_links_open_the_notebooks():
    links = re.findall(r'\]\((nbs/[^)\s#]+\.ipynb)', (ROOT/'README.md').read_text())
    assert links, 'README.md has no links to the notebooks'
    assert all((ROOT/l).exists() for l in links), [l for l in links if not (ROOT/l).exists()]

def test_no_quarto_files():
    # the site is built by docs/build.py (Quarto cannot be installed here): nbdev's Quarto files would be dead
    left = [p.name for p in (ROOT/'nbs').iterdir() if p.name in ('_quarto.yml', 'nbdev.yml', 'styles.css', 'sidebar.yml')]
    assert not left, left

def test_benchmarks_live_outside_tests():
    assert (ROOT/'bench'/'run.py').exists() and not (ROOT/'tests'/'bench').exists()
    assert 'bench/run.py' in (ROOT/'Makefile').read_text()

def _nb(cells) -> dict:
    return {'cells': [{'cell_type': 'code', 'id': f'c{i}', 'metadata': {}, 'source': src, 'outputs': outs, 'execution_count': None}
                      for i, (src, outs) in enumerate(cells)],
            'metadata': {'kernelspec': {'name': 'python3', 'language': 'python', 'display_name': 'Python 3'}}, 'nbformat': 4, 'nbformat_minor': 5}

def test_nbtest_runs_notebooks_as_nbdev_test_does(tmp_path, monkeypatch):
    # `make nbtest` (docs/build.py --execute) must be nbdev_test's run: nbdev's own test_nb, IN_TEST set, the
    # flagged and eval:false cells skipped (their saved outputs kept); a failure names the notebook's cell
    b = _build_module()
    monkeypatch.chdir(ROOT)
    saved = [{'output_type': 'stream', 'name': 'stdout', 'text': 'saved\n'}]
    src = tmp_path/'t.ipynb'
    src.write_text(json.dumps(_nb([("import os\nprint('IN_TEST', os.environ.get('IN_TEST'))", saved),
                                   ("#| slow\nraise RuntimeError('a slow cell ran')", saved),
                                   ("#| eval: false\nraise RuntimeError('an eval: false cell ran')", saved),
                                   ("x = 1", saved)])))
    b.execute(str(src), str(tmp_path/'out.ipynb'))
    out = json.loads((tmp_path/'out.ipynb').read_text())['cells']
    assert ''.join(out[0]['outputs'][0]['text']).strip() == 'IN_TEST 1'
    assert out[1]['outputs'] == saved and out[2]['outputs'] == saved  # skipped, saved outputs kept
    assert out[3]['outputs'] == []  # ran, printed nothing: its stale output is gone
    bad = tmp_path/'bad.ipynb'
    bad.write_text(json.dumps(_nb([("y = 2", []), ("assert y == 3, 'y should be 3'", [])])))
    import pytest
    with pytest.raises(b.NotebookFailed, match='y should be 3'): b.execute(str(bad), str(tmp_path/'bad_out.ipynb'))

def test_no_cell_mixes_an_import_with_other_code():
    # nbdev's docs processing re-runs every cell that holds an import (to render show_doc); a cell that also holds
    # other code then runs out of context and the site build fails (nbdev warns "Found cells containing imports and
    # other code"); exported cells are exempt, as nbdev runs them anyway
    import ast
    found = []
    for stem in NOTEBOOKS:
        for i, c in enumerate(json.loads((ROOT/'nbs'/f'{stem}.ipynb').read_text())['cells']):
            src = ''.join(c['source'])
            if c['cell_type'] != 'code' or re.search(r'^#\|\s*(export|exports|exporti|exec_doc)\s*$|^#\|\s*eval:\s*false', src, re.M): continue
            try: nodes = list(ast.walk(ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!'))))))
            except SyntaxError: continue
            if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in nodes) and any(isinstance(n, (ast.Expr, ast.Assign)) for n in nodes):
                found.append(f'{stem}.ipynb cell {i}: {src.strip().splitlines()[-1][:70]}')
    assert not found, f'cells that mix an import with other code (put the import in a cell of its own): {found}'

def _chapter_sections(path:Path) -> tuple:
    "The level-2 headings of a notebook's markdown and the number of its `#| solution` cells."
    import json
    cells = json.loads(path.read_text())['cells']
    heads = [l[3:].strip() for c in cells if c['cell_type'] == 'markdown' for l in ''.join(c['source']).splitlines() if l.startswith('## ')]
    sols = sum(c['cell_type'] == 'code' and re.search(r'^#\|\s*solution\s*$', ''.join(c['source']), re.M) is not None for c in cells)
    return heads, sols

def test_every_lesson_ends_with_exercises_and_references():
    # issue 15: each Part I chapter ends with 2-4 exercises, each with a checked solution, and its references
    bad = {}
    for path in sorted((ROOT/'nbs').glob('0[1-8]*.ipynb')):
        heads, sols = _chapter_sections(path)
        problems = [m for m, ok in (('no "## Exercises"', 'Exercises' in heads), ('no "## References"', 'References' in heads),
                                     (f'{sols} #| solution cells, expected 2-4', 2 <= sols <= 4)) if not ok]
        if 'Exercises' in heads and 'References' in heads and heads.index('Exercises') > heads.index('References'):
            problems.append('References before Exercises')
        if problems: bad[path.name] = problems
    assert not bad, f'lesson chapters without their closing sections: {bad}'
