"""Build the documentation site into `_site/` without Quarto.

  python docs/build.py [--only NAME ...] [--no-exec] [--workers N]

1. Execute: copy `nbs/` to `_build/exec/` and run every notebook there in-process (execnb, as
   `nbdev_test` does), saving the outputs. Cells flagged `#| slow` or `#| eval: false` are not run;
   a slow cell keeps the outputs saved in the tracked notebook. The tracked notebooks are never written.
2. Process: nbdev's own documentation processors (`FilterDefaults`: show_doc, `#| hide`, front matter).
3. Convert for myst-nb (`to_myst`): front matter -> `# Title` and description, Quarto cell options ->
   cell tags, pandoc link attributes removed, widgets -> a static note, a sidebar toctree on the index.
4. Sphinx + myst-nb + sphinx-book-theme, warnings as errors, MathJax served from `_site/` (no CDN).
"""
import argparse, json, os, re, shutil, subprocess, sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD, SITE = ROOT/'_build', ROOT/'_site'
EXEC, SRC = BUILD/'exec', BUILD/'src'
SKIP_FLAGS = {'slow'}

def notebooks(folder:Path) -> list:
    "The notebooks of `folder` in chapter order (index first)."
    nbs = sorted(p for p in folder.glob('*.ipynb') if not p.name.startswith(('_', '.')))
    return sorted(nbs, key=lambda p: (p.stem != 'index', p.name))

# ---------------------------------------------------------------- 1. execute
def _skip(cell) -> bool:
    "Whether the executor leaves `cell` as saved (markdown, `eval: false`, or a skipped flag)."
    from nbdev.process import extract_directives
    if cell.cell_type != 'code': return True
    d = extract_directives(cell, remove=False)
    if d.get('eval:', [''])[0].lower() == 'false': return True
    return bool(SKIP_FLAGS & d.keys())

def execute(path:str) -> float:
    "Run the notebook at `path` in place (a build copy), saving its outputs; returns seconds taken."
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    path, start = Path(path), time.time()
    nb = read_nb(path)
    shell = CaptureShell(path)
    with working_directory(path.parent):
        shell.run_all(nb, exc_stop=True, preproc=_skip)
    if shell.exc: raise RuntimeError(shell.prettytb(fname=path))
    write_nb(nb, path)
    return time.time() - start

# ---------------------------------------------------------------- 2. process
def process(path:str, dest:str) -> None:
    "Apply nbdev's documentation processors to the executed notebook at `path`, writing `dest`."
    from execnb.nbio import read_nb, write_nb
    from nbdev.processors import FilterDefaults
    from fastcore.xtras import working_directory
    path = Path(path)
    nb = read_nb(path)
    with working_directory(path.parent): FilterDefaults()(nb)
    write_nb(nb, dest)

def _exec_and_process(path:str, dest:str, run:bool) -> float:
    secs = execute(path) if run else 0.0
    process(path, dest)
    return secs

# ---------------------------------------------------------------- 3. convert
_DIRECTIVE = re.compile(r'^#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_TAGS = {('echo', 'false'): 'remove-input', ('output', 'false'): 'remove-output',
         ('include', 'false'): 'remove-cell'}
_LINK_ATTR = re.compile(r'(\]\([^)\s]*\))\{[^}\n]*\}')
_WIDGET = 'application/vnd.jupyter.widget-view+json'
_ANSI = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]')

def _front_matter(src:str) -> dict:
    import yaml
    m = re.match(r'^\s*---\s*\n(.*?)\n---', src, re.S)
    return (yaml.safe_load(m.group(1)) or {}) if m else {}

def _widget_note(text:str) -> dict:
    "A static stand-in for a widget on the site, naming its controls."
    names = [n for n in re.findall(r"description='([^']*)'", text) if n]
    if names and text.rstrip().endswith('…'): names.append('…')  # IPython shortens long reprs
    controls = f" (controls: {', '.join(names)})" if names else ''
    html = (f'<div class="widget-fallback"><strong>Interactive widget</strong>{controls}. '
            'It needs a running Python kernel: open this notebook in JupyterLab (<code>make lab</code>) '
            'to move it. The output shown here is its initial state.</div>')
    return {'output_type': 'display_data', 'metadata': {}, 'data': {'text/html': html, 'text/plain': text}}

def _clean_md_output(md:str) -> str:
    "show_doc's markdown without its leading rule and its link to a source host (the site is offline)."
    md = re.sub(r'^\s*---\s*\n', '', md)
    md = re.sub(r'^\[source\]\([^)]*\)(\{[^}\n]*\})?[ \t]*\n', '', md, flags=re.M)
    return _LINK_ATTR.sub(r'\1', md)

def _convert_cell(cell:dict) -> dict:
    "One cell made readable by myst-nb; returns None to drop it."
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
    outs, notes = [], []
    for o in cell.get('outputs', []):
        data = o.get('data', {})
        if o.get('output_type') == 'stream' and not _ANSI.sub('', ''.join(o.get('text', ''))).strip():
            continue  # progress-bar leftovers, and the clear_output codes a widget prints with no kernel attached
        if _WIDGET in data:
            notes.append(_widget_note(''.join(data.get('text/plain', ''))))
            continue
        if 'text/markdown' in data: o['data']['text/markdown'] = _clean_md_output(''.join(data['text/markdown']))
        outs.append(o)
    cell['outputs'] = notes + outs
    if tags: cell['metadata'] = {**cell['metadata'], 'tags': sorted(tags)}
    return cell

def to_myst(nb:dict, pages:list=None) -> dict:
    "Convert a processed notebook `nb` for myst-nb; `pages` (the index only) become the sidebar's toctree."
    cells, fm = [], {}
    for cell in nb['cells']:
        src = ''.join(cell['source'])
        if cell['cell_type'] == 'raw' and src.lstrip().startswith('---'):
            fm = _front_matter(src)
            continue
        c = _convert_cell(cell)
        if c is not None: cells.append(c)
    head = f"# {fm.get('title', 'Untitled')}\n"
    if fm.get('description'): head += f"\n{{.page-description}}\n{fm['description']}\n"
    cells.insert(0, {'cell_type': 'markdown', 'id': 'title', 'metadata': {}, 'source': head})
    if pages:
        toc = '```{toctree}\n:hidden:\n:maxdepth: 1\n\n' + '\n'.join(pages) + '\n```\n'
        cells.append({'cell_type': 'markdown', 'id': 'toctree', 'metadata': {}, 'source': toc})
    meta = {k: v for k, v in nb.get('metadata', {}).items() if k in ('kernelspec', 'language_info')}
    return {'cells': cells, 'metadata': meta, 'nbformat': 4, 'nbformat_minor': 5}

def page_name(nb:dict, stem:str) -> str:
    "The page's file name: nbdev's `output-file` (e.g. `core`), else the notebook's stem."
    for cell in nb['cells']:
        if cell['cell_type'] == 'raw':
            out = _front_matter(''.join(cell['source'])).get('output-file')
            if out: return Path(out).stem
    return stem

# ---------------------------------------------------------------- 4. sphinx
def sphinx(src:Path, out:Path) -> None:
    cmd = [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-q', '-b', 'html', '-c', str(ROOT/'docs'),
           str(src), str(out)]
    subprocess.run(cmd, check=True)

def build(only=None, run=True, workers=2) -> Path:
    "Execute, process, convert and render the notebooks; returns the path of `_site/index.html`."
    t0 = time.time()
    if run or not EXEC.exists():
        shutil.rmtree(EXEC, ignore_errors=True)
        shutil.copytree(ROOT/'nbs', EXEC, ignore=shutil.ignore_patterns('.ipynb_checkpoints', '_proc', '_docs'))
    shutil.rmtree(SRC, ignore_errors=True); (BUILD/'proc').mkdir(parents=True, exist_ok=True); SRC.mkdir(parents=True)
    nbs = notebooks(EXEC)
    if only: nbs = [p for p in nbs if p.stem in only or p.name in only or p.stem == 'index']
    env = {**os.environ, 'MPLBACKEND': 'Agg', 'PYTHONPATH': str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', '')}
    os.environ.update(env)
    # each notebook in a fresh process; the task is named through the module `build`, not `__main__`,
    # since the IPython shell that runs a notebook replaces `__main__` in its process
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import build as this
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context('spawn'), max_tasks_per_child=1) as pool:
        futs = {p: pool.submit(this._exec_and_process, str(p), str(BUILD/'proc'/p.name), run) for p in nbs}
        for p, f in futs.items(): print(f'  executed {p.name}: {f.result():.1f} s')
    t1 = time.time()
    procd = [(p.stem, json.loads((BUILD/'proc'/p.name).read_text())) for p in nbs]
    names = [page_name(nb, stem) for stem, nb in procd]
    for (stem, nb), name in zip(procd, names):
        pages = [n for n in names if n != 'index'] if name == 'index' else None
        (SRC/f'{name}.ipynb').write_text(json.dumps(to_myst(nb, pages), indent=1))
    (BUILD/'pages.json').write_text(json.dumps(dict(zip([stem for stem, _ in procd], names)), indent=1))
    html = BUILD/'html'  # built beside its jupyter_execute/ folder inside _build, then moved to _site
    shutil.rmtree(html, ignore_errors=True)
    sphinx(SRC, html)
    shutil.rmtree(SITE, ignore_errors=True)
    shutil.move(str(html), str(SITE))
    print(f'executed in {t1-t0:.1f} s, rendered in {time.time()-t1:.1f} s')
    return SITE/'index.html'

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--only', nargs='*', help='notebook stems to build (default: all)')
    ap.add_argument('--no-exec', action='store_true', help='reuse the executed copies in _build/exec')
    ap.add_argument('--workers', type=int, default=2)
    a = ap.parse_args()
    print(build(a.only, run=not a.no_exec, workers=a.workers))
