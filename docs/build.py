"""Build the documentation site into `_site/` without Quarto.

Why this file exists: nbdev's own site commands (`nbdev_docs`, `nbdev_preview`, `nbdev_proc_nbs`,
`nbdev_readme`) render through Quarto, and begin by downloading and installing it (then run
`pip install -e .[dev]`). Quarto cannot be installed on the machines this book is built and tested on
(its download host is not reachable and no package provides it), so this script does the same work
with nbdev's own Python processors and renders the result with Sphinx + myst-nb instead. nbdev's
Quarto files (`_quarto.yml`, `nbdev.yml`, `styles.css`) are therefore not part of the project.

  python docs/build.py [--execute] [--force] [--only NAME ...] [--no-exec] [--workers N]

1. Execute (`execute`): every notebook is run by nbdev's own `test_nb`, exactly as `nbdev_test` runs it
   (in `nbs/`, `IN_TEST=1`, the same skipped cells: `tst_flags` such as `#| slow`, `#| eval: false`,
   `skip_exec`), each in a fresh process; the outputs go to `_build/exec/` (the tracked notebooks are
   never written). A skipped cell keeps the outputs saved in the tracked notebook. `--execute` stops
   after this and step 2: it is `make nbtest`. Without `--force`, a notebook is re-run only when it, the library or
   settings.ini changed since its last successful run (`_build/exec/record.json`, `record_run`). `make test` runs the
   notebooks in JupyterLab instead (tests/test_lab.py: the same skipped cells, `IN_TEST=1`, the same `EXEC_ENV`),
   and records its runs here the same way: a `make docs` after it reuses them.
2. Process (`process`, by the process that ran the notebook, right after it): nbdev's documentation processors (`FilterDefaults`: show_doc, `#| hide`,
   front matter), except that an `#| exports` cell, whose source the page shows, gets no show_doc
   repeating its signature.
3. Convert for myst-nb (`to_myst`): front matter -> `# Title` and description, Quarto cell options ->
   cell tags, pandoc link attributes removed, a widget -> its copy for a page with no kernel (its controls
   and pictures drawn in advance, nbs/17_frames.ipynb) or else a static note, on a Part I page any cell that
   calls `test_fail` folded away, and on the index the sidebar: two captioned toctrees (`PARTS`).
4. Sphinx + myst-nb + sphinx-book-theme, warnings as errors, MathJax served from `_site/` (no CDN).
"""
import argparse, configparser, hashlib, json, os, re, shutil, subprocess, sys, time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD, SITE = ROOT/'_build', ROOT/'_site'
EXEC, SRC = BUILD/'exec', BUILD/'src'
RECORD = EXEC/'record.json'

# ---------------------------------------------------------------- the two parts (the one place they are declared)
PARTS = {1: 'Part I · The article', 2: 'Part II · Under the hood'}

def part(stem:str) -> int:
    """The part of the book a notebook belongs to: Part I, the article, is the index, the chapters numbered
    01 to 08 and any unnumbered lesson page (e.g. a notation page); Part II, under the hood, every other
    numbered notebook (09 and up)."""
    m = re.match(r'(\d+)_', stem)
    return 1 if m is None or 1 <= int(m.group(1)) <= 8 else 2

def notebooks(folder:Path) -> list:
    "The notebooks of `folder` in chapter order (index first)."
    nbs = sorted(p for p in folder.glob('*.ipynb') if not p.name.startswith(('_', '.')))
    return sorted(nbs, key=lambda p: (p.stem != 'index', part(p.stem), p.name))

# ---------------------------------------------------------------- 1. execute
class NotebookFailed(RuntimeError): pass

# the environment of every execution whose outputs the site shows (here, and JupyterLab's kernels in `make test`):
# widgets draw their site version (RNN_LIT_SITE_FRAMES), IN_TEST as nbdev_test sets it
EXEC_ENV = {'MPLBACKEND': 'Agg', 'RNN_LIT_SITE_FRAMES': '1', 'IN_TEST': '1'}

def execute(path:str, dest:str) -> float:
    """Run the notebook at `path` as `nbdev_test` does, with nbdev's own `test_nb`, and write it with its
    outputs to `dest`; returns seconds taken. Raises NotebookFailed with the failing cell's traceback."""
    import nbdev.test as nbtest
    from execnb.shell import CaptureShell
    from execnb.nbio import read_nb, write_nb
    from nbdev.config import get_config
    class Keeping(CaptureShell):  # the shell test_nb runs the notebook in, keeping what it ran
        def run_all(self, nb, *args, preproc=None, **kw):
            Keeping.ran = (self, nb)
            def pre(cell):  # a cell that runs starts without its saved outputs (execnb keeps them if it prints nothing)
                skip = preproc(cell)
                if not skip and cell.cell_type == 'code': cell.outputs = []
                return skip
            return super().run_all(nb, *args, preproc=pre, **kw)
    Keeping.ran = (None, None)
    nbtest.CaptureShell = Keeping
    cfg, path = get_config(), Path(path).resolve()
    ok, secs = nbtest.test_nb(path, skip_flags=cfg.tst_flags.split(), basepath=cfg.config_path, showerr=False)
    shell, ran = Keeping.ran
    if not ok: raise NotebookFailed(shell.prettytb(fname=path) if shell else f'{path.name} failed')
    write_with_outputs(path, ran, dest)
    return secs

def write_with_outputs(path, ran, dest, skipped=()) -> None:
    """Write the notebook at `path` to `dest` with the outputs and execution counts of the code cells of `ran` (the
    same notebook after a run, cells matched by id; None: it did not run, its saved outputs stay). A cell of `ran`
    whose id is in `skipped`, or that it lacks, keeps the outputs saved in `path`."""
    from execnb.nbio import read_nb, write_nb
    nb = read_nb(path)
    if ran is not None:
        by_id = {c.get('id'): c for c in ran.cells if c.cell_type == 'code' and c.get('id') not in skipped}
        for c in nb.cells:
            r = by_id.get(c.get('id'))
            if c.cell_type == 'code' and r is not None:
                c.outputs, c.execution_count = r.get('outputs', []), r.get('execution_count')
    write_nb(nb, dest)

def _digest(*paths) -> str:
    h = hashlib.sha256()
    for p in paths:
        files = sorted(f for f in Path(p).rglob('*') if f.is_file() and '__pycache__' not in f.parts) if Path(p).is_dir() else [Path(p)]
        for f in files: h.update(str(f.relative_to(ROOT)).encode()); h.update(f.read_bytes())
    return h.hexdigest()

def _inputs(stem:str, lib:str) -> str:
    "What a notebook's run depends on: its source, the library and settings.ini."
    return hashlib.sha256((_digest(ROOT/'nbs'/f'{stem}.ipynb') + lib).encode()).hexdigest()

def _record() -> dict:
    try: return json.loads(RECORD.read_text())
    except (OSError, ValueError): return {}

def record_run(stem:str, secs:float, by:str) -> None:
    """Record a successful run of notebook `stem` whose outputs are in `_build/exec/STEM.ipynb`, with the inputs it ran
    from: `make docs` reuses them until one changes. `by`: what ran it (nbdev's test_nb, or JupyterLab in `make test`).
    Safe when several processes record at once."""
    import fcntl
    EXEC.mkdir(parents=True, exist_ok=True)
    entry = {'inputs': _inputs(stem, _digest(ROOT/'rnn_lit', ROOT/'settings.ini')), 'secs': round(secs, 1), 'by': by}
    with open(EXEC/'.record.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rec = _record(); rec[stem] = entry
        tmp = RECORD.with_suffix('.tmp'); tmp.write_text(json.dumps(rec, indent=1)); tmp.replace(RECORD)

def forget_run(stem:str) -> None:
    "Drop notebook `stem` from the record (its last run failed): the next build runs it again."
    import fcntl
    if not RECORD.exists(): return
    with open(EXEC/'.record.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rec = _record()
        if rec.pop(stem, None) is not None:
            tmp = RECORD.with_suffix('.tmp'); tmp.write_text(json.dumps(rec, indent=1)); tmp.replace(RECORD)

def _run_one(path:str, dest:str) -> tuple:
    """Worker: execute one notebook; returns (seconds, error text or ''). The site's processing of it (step 2) follows
    in the same process, its imports already made; a failure there is left for the site build to report."""
    os.chdir(ROOT)
    try: secs = execute(path, dest)
    except NotebookFailed as e: return 0.0, str(e)
    except Exception as e:
        import traceback; return 0.0, traceback.format_exc()
    proc = BUILD/'proc'/Path(dest).name
    try: proc.parent.mkdir(parents=True, exist_ok=True); process(dest, str(proc))
    except Exception: proc.unlink(missing_ok=True)
    return secs, ''

def execute_all(stems:list, force=True, workers=2) -> list:
    "Run the notebooks `stems` (all given when `force`, else only the changed ones); returns the failures."
    EXEC.mkdir(parents=True, exist_ok=True)
    lib = _digest(ROOT/'rnn_lit', ROOT/'settings.ini')
    rec = _record()
    todo = [s for s in stems if force or rec.get(s, {}).get('inputs') != _inputs(s, lib) or not (EXEC/f'{s}.ipynb').exists()]
    for s in [s for s in stems if s not in todo]:
        print(f'  {s}.ipynb: unchanged since its last run ({rec[s]["secs"]:.0f} s, by {rec[s].get("by", "test_nb")}), outputs reused')
    todo.sort(key=lambda s: -rec.get(s, {}).get('secs', 1e9))  # the longest first: two workers finish together
    os.environ.update(EXEC_ENV)
    os.environ['PYTHONPATH'] = str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', '')
    # each notebook in a fresh process; the task is named through the module `build`, not `__main__`,
    # since the IPython shell that runs a notebook replaces `__main__` in its process
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import build as this
    failed = []
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=get_context('spawn'), max_tasks_per_child=1) as pool:
        futs = {pool.submit(this._run_one, str(ROOT/'nbs'/f'{s}.ipynb'), str(EXEC/f'{s}.ipynb')): s for s in todo}
        for f in as_completed(futs):
            s, (secs, err) = futs[f], f.result()
            if err:
                failed.append(s); forget_run(s)
                print(f'  {s}.ipynb: FAILED\n{err}', flush=True)
            else:
                record_run(s, secs, 'test_nb')
                print(f'  {s}.ipynb: {secs:.1f} s', flush=True)
    return failed

# ---------------------------------------------------------------- 2. process
def _site_procs():
    "nbdev's `FilterDefaults`, whose show_doc cells skip `#| exports` cells: the page shows their source already."
    from nbdev.processors import FilterDefaults, add_show_docs
    class add_show_docs_for_hidden_source(add_show_docs):
        def begin(self):
            shown = [c for c in self.nb.cells if c.cell_type == 'code' and 'exports' in (c.directives_ or {})]
            for c in shown: c.directives_ = {k: v for k, v in c.directives_.items() if k != 'exports'}
            try: super().begin()
            finally:
                for c in shown: c.directives_ = {**c.directives_, 'exports': []}
    class SiteProcs(FilterDefaults):
        def base_procs(self):
            return [add_show_docs_for_hidden_source if p is add_show_docs else p for p in super().base_procs()]
    return SiteProcs()

def process(path:str, dest:str) -> None:
    "Apply nbdev's documentation processors to the executed notebook at `path`, writing `dest`."
    from execnb.nbio import read_nb, write_nb
    from fastcore.xtras import working_directory
    path = Path(path)
    nb = read_nb(path)
    with working_directory(ROOT/'nbs'): _site_procs()(nb)
    write_nb(nb, dest)

# ---------------------------------------------------------------- 3. convert
_DIRECTIVE = re.compile(r'^#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_TAGS = {('echo', 'false'): 'remove-input', ('output', 'false'): 'remove-output',
         ('include', 'false'): 'remove-cell',
}
_LINK_ATTR = re.compile(r'(\]\([^)\s]*\))\{[^}\n]*\}')
_WIDGET = 'application/vnd.jupyter.widget-view+json'
_ANSI = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]')

def _front_matter(src:str) -> dict:
    import yaml
    m = re.match(r'^\s*---\s*\n(.*?)\n---', src, re.S)
    return (yaml.safe_load(m.group(1)) or {}) if m else {}

def _widget_note(text:str) -> dict:
    "A static stand-in for a widget on the site, naming its controls when the widget's text shows them all."
    names = [n for n in re.findall(r"description='([^']*)'", text) if n]
    whole = not text.rstrip().endswith('…')  # IPython shortens long reprs: then the list would be partial
    controls = f" (controls: {', '.join(names)})" if names and whole else ''
    html = (f'<div class="widget-fallback"><strong>Interactive widget</strong>{controls}. '
            'It needs a running Python kernel: open this notebook in JupyterLab to move it. '
            'The output shown here is its initial state.</div>')
    return {'output_type': 'display_data', 'metadata': {}, 'data': {'text/html': html, 'text/plain': text}}

def _clean_md_output(md:str) -> str:
    "show_doc's markdown without its leading rule and its link to a source host (the site is offline)."
    md = re.sub(r'^\s*---\s*\n', '', md)
    md = re.sub(r'^\[source\]\([^)]*\)(\{[^}\n]*\})?[ \t]*\n', '', md, flags=re.M)
    return _LINK_ATTR.sub(r'\1', md)

_TEST_FAIL = re.compile(r'\btest_fail\s*\(')

def _convert_cell(cell:dict, lesson=False) -> dict:
    "One cell made readable by myst-nb; returns None to drop it. On a lesson page (`lesson`) a `test_fail` cell is folded."
    cell = {k: v for k, v in cell.items() if k in ('cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count', 'attachments')}
    src = ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']
    if cell['cell_type'] == 'markdown':
        cell['source'] = _LINK_ATTR.sub(r'\1', src)
        return cell
    if cell['cell_type'] != 'code': return None
    tags, keep = set(cell['metadata'].get('tags', [])), []
    for line in src.splitlines():
        m = _DIRECTIVE.match(line)
        if m:
            tag = _TAGS.get((m.group(1).lower(), m.group(2).lower()))
            if tag: tags.add(tag)
        else: keep.append(line)
    cell['source'] = '\n'.join(keep).strip('\n')
    if not cell['source'].strip() and not cell.get('outputs'): return None
    if lesson and _TEST_FAIL.search(cell['source']) and not tags & {'remove-cell', 'remove-input'}:
        tags.add('hide-cell')  # bad-input checks belong in `#| hide` cells in Part I; one left out is folded away
    outs, notes = [], []
    for o in cell.get('outputs', []):
        data = o.get('data', {})
        if o.get('output_type') == 'stream' and not _ANSI.sub('', ''.join(o.get('text', ''))).strip():
            continue  # progress-bar leftovers, and the clear_output codes a widget prints with no kernel attached
        if _WIDGET in data and 'rnn-lit-frames' in ''.join(data.get('text/html', '')):
            o['data'] = {k: v for k, v in data.items() if k != _WIDGET}  # the widget's own copy for a page (17_frames)
            outs.append(o); continue
        if _WIDGET in data:
            notes.append(_widget_note(''.join(data.get('text/plain', ''))))
            continue
        if 'text/markdown' in data: o['data']['text/markdown'] = _clean_md_output(''.join(data['text/markdown']))
        outs.append(o)
    cell['outputs'] = notes + outs
    if tags: cell['metadata'] = {**cell['metadata'], 'tags': sorted(tags)}
    return cell

def _toctrees(pages:list) -> str:
    "The sidebar: one captioned toctree per part, the index first in Part I. `pages`: (page name, part)."
    out = []
    for k, caption in PARTS.items():
        entries = (['Introduction <self>'] if k == 1 else []) + [n for n, pt in pages if pt == k and n != 'index']
        if len(entries) > (k == 1):
            out.append(f'```{{toctree}}\n:caption: {caption}\n:hidden:\n:maxdepth: 1\n\n' + '\n'.join(entries) + '\n```\n')
    return '\n'.join(out)

_SOLUTION = re.compile(r'^#\|\s*solution\s*$', re.M)

def solution_ids(path:Path) -> set:
    "Ids of the notebook's `#| solution` cells (an exercise's checked solution; nbdev's processing drops the directive)."
    cells = json.loads(Path(path).read_text())['cells']
    return {c.get('id') for c in cells if c['cell_type'] == 'code' and _SOLUTION.search(''.join(c['source']))}

def local_links(text:str, stems:list) -> str:
    "nbdev's links to a function's documentation (`doc_host`/`doc_baseurl`/NAME.html#f) pointed at this site's own page."
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini')
    base = re.escape(cfg['DEFAULT']['doc_host'].rstrip('/') + cfg['DEFAULT']['doc_baseurl'].rstrip('/'))
    pages = {re.sub(r'^\d+[a-z]?_', '', s): s for s in stems}  # nbdev names a page after its notebook, number dropped
    # to the page itself: myst resolves `NAME.ipynb` to the page; an anchor would name a show_doc heading that a
    # page showing the function's source (`#| exports`) does not have
    return re.sub(base + r'/(\w+)\.html(#[\w.-]*)?', lambda m: f'{pages.get(m.group(1), m.group(1))}.ipynb', text)

def to_myst(nb:dict, pages:list=None, lesson=False, solutions:set=frozenset()) -> dict:
    """Convert a processed notebook `nb` for myst-nb; `pages` (the index only: (page name, part) pairs) become
    the sidebar's toctrees; `lesson`: a Part I page; `solutions`: ids of cells to fold as exercise solutions."""
    cells, fm = [], {}
    for cell in nb['cells']:
        src = ''.join(cell['source'])
        if cell['cell_type'] == 'raw' and src.lstrip().startswith('---'):
            fm = _front_matter(src)
            continue
        c = _convert_cell(cell, lesson)
        if c is not None and cell.get('id') in solutions:
            c['metadata'] = {**c['metadata'], 'tags': sorted({*c['metadata'].get('tags', []), 'hide-cell'})}
        if c is not None: cells.append(c)
    head = f"# {fm.get('title', 'Untitled')}\n"
    if fm.get('description'): head += f"\n{{.page-description}}\n{fm['description']}\n"
    cells.insert(0, {'cell_type': 'markdown', 'id': 'title', 'metadata': {}, 'source': head})
    if pages:
        cells.append({'cell_type': 'markdown', 'id': 'toctree', 'metadata': {}, 'source': _toctrees(pages)})
    meta = {k: v for k, v in nb.get('metadata', {}).items() if k in ('kernelspec', 'language_info')}
    return {'cells': cells, 'metadata': meta, 'nbformat': 4, 'nbformat_minor': 5}

def page_name(nb:dict, stem:str) -> str:
    "The page's file name: the notebook's stem, so that a markdown link `[..](02_forward.ipynb)` resolves as written."
    return stem

# ---------------------------------------------------------------- 4. sphinx
def sphinx(src:Path, out:Path) -> None:
    cmd = [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-q', '-b', 'html', '-c', str(ROOT/'docs'),
           '-d', str(BUILD/'doctrees'), str(src), str(out)]  # Sphinx's own cache stays in _build, out of the site
    subprocess.run(cmd, check=True)

def stems(only=None) -> list:
    "The notebooks of nbs/ in chapter order (index first), or those named in `only` (and the index)."
    out = [p.stem for p in notebooks(ROOT/'nbs')]
    return [s for s in out if s in only or f'{s}.ipynb' in only or s == 'index'] if only else out

def _processed(stem:str) -> bool:
    "Whether _build/proc has this notebook processed from its current executed copy by this script."
    proc, ex = BUILD/'proc'/f'{stem}.ipynb', EXEC/f'{stem}.ipynb'
    return proc.exists() and proc.stat().st_mtime >= max(ex.stat().st_mtime, Path(__file__).stat().st_mtime)

def _process_one(path:str, dest:str) -> str:
    os.chdir(ROOT)
    try: process(path, dest); return ''
    except Exception:
        import traceback; return traceback.format_exc()

def build(only=None, run=True, force=False, workers=2) -> Path:
    """Execute (unless `run` is False; only what changed unless `force`), process, convert and render the
    notebooks; returns the path of `_site/index.html`. Two builds at once (two test processes) take turns."""
    import fcntl
    BUILD.mkdir(parents=True, exist_ok=True)
    with open(BUILD/'.build.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(only, run, force, workers)

def _build(only, run, force, workers) -> Path:
    t0 = time.time()
    names = stems(only)
    if run:
        failed = execute_all(names, force=force, workers=workers)
        if failed: sys.exit(f'site not built: {", ".join(failed)} failed (tracebacks above)')
    missing = [s for s in names if not (EXEC/f'{s}.ipynb').exists()]
    if missing: sys.exit(f'no executed copy of {missing} in {EXEC}: run without --no-exec')
    t1 = time.time()
    shutil.rmtree(SRC, ignore_errors=True)
    (BUILD/'proc').mkdir(parents=True, exist_ok=True); SRC.mkdir(parents=True)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import build as this
    os.environ['PYTHONPATH'] = str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', '')
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=get_context('spawn'), max_tasks_per_child=1) as pool:
        futs = {s: pool.submit(this._process_one, str(EXEC/f'{s}.ipynb'), str(BUILD/'proc'/f'{s}.ipynb')) for s in names if not _processed(s)}
        errs = {s: f.result() for s, f in futs.items()}
    errs = {s: e for s, e in errs.items() if e}
    if errs: sys.exit('nbdev processing failed:\n' + '\n'.join(f'{s}:\n{e}' for s, e in errs.items()))
    procd = [(s, json.loads((BUILD/'proc'/f'{s}.ipynb').read_text())) for s in names]
    pages = [(page_name(nb, s), part(s)) for s, nb in procd]
    for (s, nb), (name, pt) in zip(procd, pages):
        myst = to_myst(nb, pages if name == 'index' else None, lesson=pt == 1, solutions=solution_ids(ROOT/'nbs'/f'{s}.ipynb'))
        (SRC/f'{name}.ipynb').write_text(local_links(json.dumps(myst, indent=1), names))
    (BUILD/'pages.json').write_text(json.dumps({s: n for s, (n, _) in zip(names, pages)}, indent=1))
    html = BUILD/'html'  # built beside its jupyter_execute/ folder inside _build, then moved to _site
    shutil.rmtree(html, ignore_errors=True)
    t2 = time.time()
    sphinx(SRC, html)
    shutil.rmtree(SITE, ignore_errors=True)
    shutil.move(str(html), str(SITE))
    print(f'executed in {t1-t0:.1f} s, processed in {t2-t1:.1f} s, rendered in {time.time()-t2:.1f} s')
    return SITE/'index.html'

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--only', nargs='*', help='notebook stems to build (default: all)')
    ap.add_argument('--execute', action='store_true', help='only run the notebooks as nbdev_test does (make nbtest), all of them')
    ap.add_argument('--force', action='store_true', help='re-run every notebook, changed or not')
    ap.add_argument('--no-exec', action='store_true', help='reuse the executed copies in _build/exec as they are')
    ap.add_argument('--workers', type=int, default=2)
    a = ap.parse_args()
    if a.execute:
        t0 = time.time()
        failed = execute_all(stems(a.only), force=True, workers=a.workers)
        print(f'{len(stems(a.only)) - len(failed)} notebooks passed, {len(failed)} failed, in {time.time()-t0:.0f} s')
        if failed: sys.exit(f'notebook tests failed: {", ".join(f"{s}.ipynb" for s in failed)}')
    else:
        print(build(a.only, run=not a.no_exec, force=a.force, workers=a.workers))
