"""Every notebook run in a real JupyterLab, in headless Chromium: the one execution of the notebooks in `make test`.

For each notebook: Run All in a fresh kernel, wait until it is idle and every code cell has run (read from the
notebook's model in the page: JupyterLab draws only the cells in view), save, and check that no cell raised and every
code cell ran. This run is also the notebook test `nbdev_test` gives: the kernel has `IN_TEST=1` (as nbdev_test sets
it) and the cells nbdev_test skips are blanked in the copy JupyterLab runs (the rule of `nbdev.test.test_nb`: the
`tst_flags` of settings.ini such as `#| slow`, `#| eval: false`, calls of `nbdev_export()`; a `skip_exec` notebook
keeps its saved outputs). A passing notebook's outputs, merged into the tracked notebook as `make nbtest` merges
them (skipped cells keep their saved outputs), go to `_build/exec/NAME.ipynb` with a record of the inputs they came
from (`docs/build.py`'s `record_run`): the site of `tests/test_site.py`, and a later `make docs`, reuse them instead
of running the notebook again; `make nbtest` and `make docs` run the same notebooks in-process (execnb), no browser.
For what the site shows, the kernel has the same settings as those runs: `RNN_LIT_SITE_FRAMES=1` (widgets draw
their site version) and inline figures in `retina` format (execnb's default).

Then, for each Part I chapter, the first cell that shows a widget is scrolled into view, the widget's first control
is changed (a slider moved to its end, a text box, or a dropdown) and the widget's plot must change. A widget is an
`.rnn-lit-widget` (its plot: the first `img` in it), else an `ipywidgets.interactive` (`.widget-interact`). Screenshots before and after go to _build/screenshots/
(git-ignored); a failure keeps one (`lab-NAME-FAILED.png`) and its message says which notebook, which cell or
control, and what was expected.

One JupyterLab per test process, on 127.0.0.1 with a token, its settings and runtime in a temporary folder, on a
temporary copy of nbs/ (autosave never touches the tracked notebooks); its kernels are forked from a process that
imported ipykernel, torch, numpy and matplotlib once (tests/forkkernel.py: a fresh process and namespace for each
notebook, about 4 s of CPU less each); one browser page per process, in which
JupyterLab loads once: each notebook is opened from the file browser and its tab closed (its kernel shut down)
when it is done. A step that times out is retried once, in a freshly loaded page: kernel starts are sensitive to
CPU load on two cores.
"""
import concurrent.futures, importlib.util, json, os, re, secrets, shutil, signal, socket, subprocess, sys, time
import urllib.request
from pathlib import Path
import pytest
from conftest import ROOT, THREADS_SET_HERE, lab_done
from browser import browser_page, screenshot, shot_path
import forkkernel

_spec = importlib.util.spec_from_file_location('site_build', ROOT/'docs'/'build.py')
B = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(B)
NBS = [p.name for p in B.notebooks(ROOT/'nbs')]
CHAPTERS = [n for n in NBS if B.part(Path(n).stem) == 1 and re.match(r'\d+[a-z]?_', n)]  # each Part I chapter has a widget
RUN_TIMEOUT = float(os.environ.get('RNN_LIT_LAB_TIMEOUT', 240))  # seconds for Run All of one notebook
# seconds of Run All per notebook, last measured (2-core machine, both test processes busy; 2026-12-07): only to split the
# notebooks in two halves of equal time on a fresh clone; _build/exec/record.json's newer times win
SECONDS = {'01_memory': 60, '06_gated': 30, '05_gradients': 30, '03_loss': 26, '04_bptt': 25, '02_forward': 25,
           '17_frames': 23, '08_language_models': 22, '07_pytorch': 18, '07a_both_ways': 16, '14_compiled_lstm': 15,
           '15_cli': 13, '09_training': 10, '13_fast_gated': 9}

def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def nbdev_skips(path:Path) -> tuple:
    """(skip_exec, ids of the code cells nbdev_test skips) for the notebook at `path`, by the rule of
    `nbdev.test.test_nb` (its `_no_eval`), with nbdev's own parsing of the front matter and the cell directives."""
    from nbdev.config import get_config
    from nbdev.process import NBProcessor
    from nbdev.frontmatter import FrontmatterProc
    from nbdev.test import nb_lang
    from fastcore.basics import str2bool
    flags = set(get_config(path=ROOT).tst_flags.split())
    nb = NBProcessor(path, procs=FrontmatterProc, process=True).nb
    fm = getattr(nb, 'frontmatter_', {}) or {}
    skip_exec = str2bool(fm.get('skip_exec', False)) or nb_lang(nb) != 'python'
    def skipped(cell):
        if 'nbdev_export' + '(' in cell.source: return True
        direc = getattr(cell, 'directives_', {}) or {}
        if direc.get('eval:', [''])[0].lower() == 'false': return True
        return bool(flags & direc.keys())
    return skip_exec, {c.get('id') for c in nb.cells if c.cell_type == 'code' and skipped(c)}

def _blank_skipped_cells(nb_path:Path, ids:set):
    nb = json.loads(nb_path.read_text())
    for c in nb['cells']:
        if c['cell_type'] == 'code' and c.get('id') in ids:
            c['source'], c['outputs'] = ['# (a cell nbdev_test skips, e.g. a `#| slow` experiment: skipped here too)'], []
    nb_path.write_text(json.dumps(nb, indent=1))

class Lab:
    "A JupyterLab server on a temporary copy of nbs/, and this process's browser page on it."
    def __init__(self, base, token, nbdir, skips):
        self.base, self.token, self.nbdir, self.skips = base, token, nbdir, skips
        self.page = self.blocked = None
        self.stale = True  # the page must be (re)loaded before the next notebook
        self.shutdowns = concurrent.futures.ThreadPoolExecutor(2)

    def api(self, path, method='GET', timeout=30):
        req = urllib.request.Request(f'{self.base}/api/{path}?token={self.token}', method=method)
        with urllib.request.urlopen(req, timeout=timeout) as r: return json.loads(r.read() or b'null')

    def load(self):
        "(Re)load JupyterLab in the page: once per process, again after a failure."
        _step('JupyterLab', 'loading JupyterLab (expected its file browser within 90 s)',
              lambda: (self.page.goto(f'{self.base}/lab?token={self.token}&reset'),
                       self.page.wait_for_selector('.jp-DirListing-content .jp-DirListing-item', timeout=90000)))
        self.stale = False

    def shutdown_kernels(self, name):
        "Stop the notebook's kernel, in the background (an idle PyTorch kernel still takes CPU; closing its tab leaves it)."
        def stop():
            try:
                for sess in self.api('sessions'):
                    if Path(sess.get('path', '')).name == name: self.api(f"sessions/{sess['id']}", 'DELETE')
            except Exception as e: print(f'{name}: could not stop its kernel: {e}')
        return self.shutdowns.submit(stop)

@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "A JupyterLab server on a temporary copy of nbs/ and one browser page for this process; yields a `Lab`."
    tmp = tmp_path_factory.mktemp('lab')
    nbdir = tmp/'nbs'
    shutil.copytree(ROOT/'nbs', nbdir, ignore=shutil.ignore_patterns('.ipynb_checkpoints'))
    skips = {}
    for nb in sorted(nbdir.glob('*.ipynb')):
        skips[nb.name] = nbdev_skips(ROOT/'nbs'/nb.name)
        _blank_skipped_cells(nb, skips[nb.name][1])
    settings = tmp/'user-settings'/'@jupyterlab'/'apputils-extension'
    settings.mkdir(parents=True)
    (settings/'notification.jupyterlab-settings').write_text(json.dumps({'fetchNews': 'false', 'checkForUpdates': False}))
    (settings.parent/'notebook-extension').mkdir()
    # windowing 'full': only the cells in view are in the page (JupyterLab's default, 'defer', attaches every cell
    # while the browser is idle: a CodeMirror editor each, and half of Chromium's CPU in a Run All); the checks below
    # read the notebook's model, not the page, and scroll a cell into view to look at it
    (settings.parent/'notebook-extension'/'tracker.jupyterlab-settings').write_text(json.dumps({'autoStartDefaultKernel': True, 'windowingMode': 'full'}))
    widgets = tmp/'user-settings'/'@jupyter-widgets'/'jupyterlab-manager'; widgets.mkdir(parents=True)
    (widgets/'plugin.jupyterlab-settings').write_text(json.dumps({'saveState': True}))  # for `_initial_widget_outputs`
    app_settings = tmp/'app-settings'; app_settings.mkdir()
    (app_settings/'overrides.json').write_text(json.dumps(
        {'@jupyterlab/apputils-extension:notification': {'fetchNews': 'false', 'checkForUpdates': False}}))
    profile = tmp/'ipython'/'profile_default'; profile.mkdir(parents=True)  # figures as execnb makes them for the site
    (profile/'ipython_kernel_config.py').write_text("c.InlineBackend.figure_formats = {'retina'}\n")
    token, port = secrets.token_hex(16), _free_port()
    env = {**os.environ, 'JUPYTERLAB_SETTINGS_DIR': str(tmp/'user-settings'),
           'JUPYTERLAB_WORKSPACES_DIR': str(tmp/'workspaces'), 'JUPYTER_RUNTIME_DIR': str(tmp/'runtime'),
           'JUPYTER_CONFIG_DIR': str(tmp/'config'), 'IPYTHONDIR': str(tmp/'ipython'),
           'MPLBACKEND': 'module://matplotlib_inline.backend_inline',
           **{k: v for k, v in B.EXEC_ENV.items() if k != 'MPLBACKEND'},  # IN_TEST=1, RNN_LIT_SITE_FRAMES=1
           'PYTHONPATH': str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', '')}
    if THREADS_SET_HERE: env.pop('OMP_NUM_THREADS', None)  # the test processes' setting, not a reader's
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--allow-root', '--ServerApp.ip=127.0.0.1',
           f'--ServerApp.port={port}', '--ServerApp.port_retries=0', f'--IdentityProvider.token={token}',
           f'--ServerApp.root_dir={nbdir}', f'--LabServerApp.app_settings_dir={app_settings}',
           '--LabApp.news_url=', '--LabApp.expose_app_in_browser=True', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
    log = open(tmp/'lab.log', 'w')
    # the kernels: forked from a template that imported the notebooks' libraries once (tests/forkkernel.py)
    kernels, env['JUPYTER_PATH'] = forkkernel.start(tmp, env=env, cwd=nbdir, stdout=log, stderr=subprocess.STDOUT)
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f'http://127.0.0.1:{port}'
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=2); break
            except Exception:
                if proc.poll() is not None: pytest.fail(f'JupyterLab exited:\n{(tmp/"lab.log").read_text()[-3000:]}')
                time.sleep(0.25)
        else: pytest.fail(f'JupyterLab did not start:\n{(tmp/"lab.log").read_text()[-3000:]}')
        lab = Lab(base, token, nbdir, skips)
        with browser_page(1400, 1000) as (lab.page, lab.blocked):
            lab.page.add_init_script(_CELLS_IN_VIEW_ONLY)
            yield lab
            lab.shutdowns.shutdown(wait=True)
    finally:
        for p in (proc, kernels):
            os.killpg(p.pid, signal.SIGTERM)
            try: p.wait(10)
            except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL)
        log.close()

# JupyterLab's notebook, in windowing mode 'full', draws the cells out of view too, one by one while the page is idle
# (a CodeMirror editor each, drawn to measure its height for the scroll bar, then taken out): a third of Chromium's CPU
# in these runs. Here those idle-time drawings are not scheduled: a cell is drawn when it comes into view.
_CELLS_IN_VIEW_ONLY = """{ const idle = window.requestIdleCallback.bind(window);
    window.requestIdleCallback = (cb, opts) => /_scheduleCellRenderOnIdle/.test(new Error().stack) ? 0 : idle(cb, opts); }"""

_PANEL = '.jp-NotebookPanel:not(.lm-mod-hidden)'
_CURRENT_TAB = '.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current'

class LabFailure(AssertionError): pass

def _step(name, what, fn):
    "Run one step of the check; a timeout fails with the notebook, the step and what was expected."
    try: return fn()
    except Exception as e:
        if 'Timeout' not in type(e).__name__: raise
        raise LabFailure(f'{name}: {what}: timed out ({str(e).splitlines()[0]})') from e

def _open(lab, name):
    "Open the notebook from JupyterLab's file browser; wait until its kernel is connected and idle."
    page = lab.page
    if lab.stale: lab.load()
    item = page.locator('.jp-DirListing-content .jp-DirListing-item', has=page.locator('.jp-DirListing-itemText', has_text=re.compile(f'^{re.escape(name)}$')))
    _step(name, 'finding the notebook in the file browser (within 30 s)', lambda: item.first.wait_for(timeout=30000))
    item.first.dblclick()
    _step(name, 'opening the notebook in JupyterLab (expected its tab and cells within 60 s)',
          lambda: (page.wait_for_function("([tab, n]) => { const t = document.querySelector(tab + ' .lm-TabBar-tabLabel'); return t && t.textContent === n; }",
                                          arg=[_CURRENT_TAB, name], timeout=60000),
                   page.wait_for_selector(_PANEL + ' .jp-Notebook .jp-Cell', timeout=60000)))
    select = page.locator('.jp-Dialog button.jp-mod-accept', has_text='Select')
    if select.count(): select.click()  # a kernel picker, when JupyterLab asks which kernel to start
    # the status bar follows the current notebook (the previous one's tab is closed): '... | Idle' once its kernel is up
    _step(name, 'starting the kernel (expected the status bar to read Idle within 90 s)',
          lambda: page.wait_for_function("""() => Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'))
              .some(e => /\\|\\s*Idle/.test(e.textContent))""", timeout=90000, polling=100))

# the current notebook's model, in JupyterLab's page (`window.jupyterapp`: --LabApp.expose_app_in_browser)
_NB_JS = "const nb = window.jupyterapp.shell.currentWidget; const cells = Array.from(nb.content.model.cells);"

def _wait_all_ran(page, timeout) -> str:
    """Wait until every code cell has an execution number and the kernel is idle ('all'), or until Run All has
    stopped early, at an error: the kernel idle for 2 s and no cell waiting to run ('stopped')."""
    return page.wait_for_function("""() => {""" + _NB_JS + """
        const kernel = nb.sessionContext.session && nb.sessionContext.session.kernel;
        const idle = !!kernel && kernel.status === 'idle';
        const ran = cells.filter(c => c.type === 'code').map(c => c.executionCount != null);
        if (idle && ran.every(r => r)) return 'all';  // none at all: nothing to run
        const queued = nb.content.widgets.some(w => w.model.type === 'code' && w.model.executionState === 'running');
        if (idle && ran.some(r => r) && !queued) {
            window.__rnnLitIdle = (window.__rnnLitIdle || 0) + 1; return window.__rnnLitIdle >= 10 ? 'stopped' : false; }
        window.__rnnLitIdle = 0; return false; }""", timeout=timeout*1000, polling=200).json_value()

_PENDING_JS = "() => {" + _NB_JS + """ return cells.map((c, i) => [i, c]).filter(([i, c]) => c.type === 'code' && c.executionCount == null)
    .map(([i, c]) => `cell ${i}: ${c.sharedModel.source.trim().split('\\n')[0].slice(0, 70)}`); }"""

def _menu(page, menu, command):
    page.locator('.lm-MenuBar-itemLabel', has_text=re.compile(f'^{menu}$')).first.click()
    page.locator(f'li[data-command="{command}"]').first.click()

def _run_all(lab, name) -> float:
    "Run All, wait until every cell ran (or Run All stopped at an error), save; returns the seconds Run All took."
    page = lab.page
    t0 = time.time()
    _menu(page, 'Run', 'runmenu:run-all')
    try: _wait_all_ran(page, RUN_TIMEOUT)
    except Exception as e:
        if 'Timeout' not in type(e).__name__: raise
        pending = page.evaluate(_PENDING_JS)
        raise LabFailure(f'{name}: Run All did not finish in {RUN_TIMEOUT:.0f} s: expected every code cell to show an '
                         f'execution number and the kernel Idle; {len(pending)} cell(s) not run, first: {pending[:3]}') from e
    secs = time.time() - t0
    path = lab.nbdir/name
    before = path.stat().st_mtime_ns
    _menu(page, 'File', 'docmanager:save')
    _step(name, 'saving the notebook (expected the file written and its tab clean within 30 s)',
          lambda: page.wait_for_function("([tab]) => { const t = document.querySelector(tab); return t && !t.classList.contains('jp-mod-dirty'); }",
                                         arg=[_CURRENT_TAB], timeout=30000, polling=100))
    deadline = time.time() + 30
    while path.stat().st_mtime_ns == before and time.time() < deadline: time.sleep(0.05)
    if path.stat().st_mtime_ns == before: raise LabFailure(f'{name}: saving the notebook: the file was not written within 30 s')
    return secs

def _saved_problems(path:Path) -> list:
    "Errors (cell index, source's first line, exception) and never-run code cells in the notebook as JupyterLab saved it."
    nb, out, not_run = json.loads(path.read_text()), [], []
    for i, c in enumerate(nb['cells']):
        src = ''.join(c['source'])
        if c['cell_type'] != 'code' or not src.strip(): continue
        if c.get('execution_count') is None: not_run.append(i)
        for o in c.get('outputs', []):
            if o['output_type'] == 'error':
                first = next((l for l in src.splitlines() if not l.startswith('#|')), '')[:60]
                out.append(f"cell {i} ({first!r}): {o['ename']}: {o['evalue'][:200]}")
    if not_run: out.append(f'{len(not_run)} code cell(s) did not run, from cell {not_run[0]}')
    return out

_VIEW = 'application/vnd.jupyter.widget-view+json'

def _initial_widget_outputs(nb):
    """An `interactive` widget's first output (its initial plot) as cell outputs before the widget, where an in-process
    run (execnb, `make docs`) puts it: in a kernel it goes to the widget's Output, saved in the widget state."""
    state = nb.metadata.get('widgets', {}).get('application/vnd.jupyter.widget-state+json', {}).get('state', {})
    def output_of(model_id):
        m = state.get(model_id, {})
        if 'widget-interact' not in m.get('state', {}).get('_dom_classes', []): return []
        kids = [state.get(str(k).replace('IPY_MODEL_', ''), {}) for k in m['state'].get('children', [])]
        return [o for k in kids if k.get('model_name') == 'OutputModel' for o in k.get('state', {}).get('outputs', [])]
    for c in nb.cells:
        if c.cell_type != 'code': continue
        outs = []
        for o in c.get('outputs', []):
            view = o.get('data', {}).get(_VIEW)
            if view: outs += output_of(view.get('model_id'))
            outs.append(o)
        c['outputs'] = outs

def _keep_outputs(lab, name, secs):
    "The passing run's outputs for the site, as `make nbtest` keeps them; processed for the site right away."
    from execnb.nbio import read_nb
    stem, (skip_exec, skipped) = Path(name).stem, lab.skips[name]
    dest = B.EXEC/name
    dest.parent.mkdir(parents=True, exist_ok=True)
    ran = None if skip_exec else read_nb(lab.nbdir/name)
    if ran is not None: _initial_widget_outputs(ran)
    B.write_with_outputs(ROOT/'nbs'/name, ran, dest, skipped)
    B.record_run(stem, secs, 'JupyterLab')
    proc = B.BUILD/'proc'/name
    try: proc.parent.mkdir(parents=True, exist_ok=True); B.process(str(dest), str(proc))
    except Exception: proc.unlink(missing_ok=True)  # left for the site build, which reports it

def _change_first_control(widget):
    "Give the widget's first control a new value, the way a reader would; returns a description."
    handle = widget.locator('.noUi-handle').first
    if handle.count():
        # End / Home on the handle move it to the slider's end in one step: one update, as a reader's
        # click would give; it also works for log sliders, whose handle position is an exponent
        readout = widget.locator('.widget-readout').first
        lo, hi, now = (float(handle.get_attribute(a)) for a in ('aria-valuemin', 'aria-valuemax', 'aria-valuenow'))
        before = readout.inner_text() if readout.count() else str(now)
        key = 'End' if abs(now - hi) > 1e-9 else 'Home'
        handle.focus(); handle.press(key)
        after = readout.inner_text() if readout.count() else '?'
        return f'slider {before} -> {after} ({key})'
    select = widget.locator('select').first
    if select.count():
        options = select.locator('option').all_inner_texts()
        current = select.evaluate('s => s.options[s.selectedIndex].text')
        new = next(o for o in options if o != current)
        select.select_option(label=new)
        return f'dropdown {current} -> {new}'
    text = widget.locator('input[type="text"], textarea').first
    old = text.input_value()
    new = ' '.join(old.split()[1:]) or 'usain bolt is from'
    text.fill(new); text.press('Enter')
    return f'text {old!r} -> {new!r}'

def _move_widget(page, name, stem):
    "Change the first widget's first control and wait for its plot to change."
    # the first cell with a widget among its outputs, scrolled into view (with windowing, only cells in view are drawn)
    at = page.evaluate("async () => {" + _NB_JS + """
        const i = cells.findIndex(c => c.type === 'code' && Array.from({length: c.outputs.length}, (_, k) => c.outputs.get(k))
            .some(o => o.data && '""" + _VIEW + """' in o.data));
        if (i >= 0) { await nb.content.scrollToItem(i, 'start'); nb.content.activeCellIndex = i; } return i; }""")
    assert at >= 0, f'{name}: no cell shows a widget after Run All, expected one per chapter'
    active = f'{_PANEL} .jp-Cell.jp-mod-active'
    cell = page.locator(active)
    _step(name, f'scrolling to code cell {at}, the first with a widget (expected it drawn within 30 s)',
          lambda: page.wait_for_function("([sel]) => { const c = document.querySelector(sel); return c && c.querySelector('.rnn-lit-widget, .widget-interact'); }",
                                         arg=[active], timeout=30000, polling=100))
    widget, kind = cell.locator('.rnn-lit-widget').first, '.rnn-lit-widget'
    if not widget.count(): widget, kind = cell.locator('.widget-interact').first, '.widget-interact'
    widget.scroll_into_view_if_needed()
    img = widget.locator('img').first
    _step(name, f"waiting for the first widget's plot (expected an image in its {kind} within 30 s)", lambda: img.wait_for(timeout=30000))
    before = img.get_attribute('src')
    widget.screenshot(path=str(shot_path(f'lab-{stem}-before')))
    what = _change_first_control(widget)
    _step(name, f"first widget ({kind}), {what}: expected its plot to change within 30 s",
          lambda: page.wait_for_function("([el, old]) => { const i = el.querySelector('img'); return i && i.src !== old; }",
                                         arg=[widget.element_handle(), before], timeout=30000, polling=100))
    page.wait_for_timeout(300)
    widget.screenshot(path=str(shot_path(f'lab-{stem}-after')))
    print(f'{name}: {what}: the plot changed')

def _close(lab, name):
    "Close the notebook's tab (discarding nothing: it was saved) and stop its kernel in the background."
    page = lab.page
    try:
        if not lab.stale:
            page.locator(_CURRENT_TAB + ' .lm-TabBar-tabCloseIcon').first.click(timeout=5000)
            # gone, or a dialog asks what to do with changes (there are none to keep: it was saved before the widget moved)
            page.wait_for_function("() => !document.querySelector('.jp-NotebookPanel') || document.querySelector('.jp-Dialog')", timeout=10000, polling=50)
            discard = page.locator('.jp-Dialog button', has_text='Discard')
            if discard.count(): discard.first.click()
            page.wait_for_function("() => !document.querySelector('.jp-NotebookPanel')", timeout=10000, polling=50)
    except Exception: lab.stale = True  # reload before the next notebook
    lab.shutdown_kernels(name)

def _check(lab, name):
    "Open, Run All, save and check one notebook, keep its outputs, move its widget; returns (Run All seconds, step times)."
    stem = Path(name).stem
    page, blocked, times, t = lab.page, len(lab.blocked), {}, time.time()
    def lap(step):
        nonlocal t
        times[step] = time.time() - t; t = time.time()
    try:
        _open(lab, name); lap('open')
        secs = _run_all(lab, name); lap('run+save')
        problems = _saved_problems(lab.nbdir/name)
        assert not problems, f'{name}: after Run All, expected every code cell run without error: {problems}'
        _keep_outputs(lab, name, secs); lap('keep')
        if name in CHAPTERS: _move_widget(page, name, stem)
        else: screenshot(page, f'lab-{stem}', full_page=False)
        lap('widget')
    except Exception as e:
        B.forget_run(stem)
        lab.stale = True
        path = screenshot(page, f'lab-{stem}-FAILED', full_page=False)
        if isinstance(e, AssertionError): raise type(e)(f'{e}\n(screenshot: {path})') from e
        raise
    finally: _close(lab, name); lap('close')
    assert len(lab.blocked) == blocked, f'{name}: requests outside 127.0.0.1: {lab.blocked[blocked:blocked+3]}'
    return secs, times

def _halves(names) -> list:
    """The notebooks split in two groups (`SECONDS`, or the last run's in _build/exec/record.json), longest first:
    `make test` runs the groups in its two test processes, each with its own JupyterLab, at the same time: the site's
    checks, which need every notebook's outputs, start when both are done."""
    secs = {f'{k}.ipynb': v for k, v in SECONDS.items()}
    try: secs.update({f'{k}.ipynb': v['secs'] for k, v in json.loads(B.RECORD.read_text()).items() if v.get('by') == 'JupyterLab'})
    except (OSError, ValueError, KeyError, TypeError, AttributeError): pass
    load, out = [0.0, 0.0], []
    for n in sorted(names, key=lambda n: -secs.get(n, 8)):
        k = load.index(min(load)); load[k] += secs.get(n, 8) + 2  # + JupyterLab's own seconds per notebook
        out.append(pytest.param(n, id=f'lab{k}-{n}'))  # the group, in the id: see tests/conftest.py `group_of`
    return out

@pytest.mark.parametrize('name', _halves(NBS))
def test_notebook_in_jupyterlab(lab, name, request):
    t0 = time.time()
    try:
        try: secs, times = _check(lab, name)
        except LabFailure as e:  # one retry of a timeout, in a freshly loaded page: kernel starts are sensitive to load on two cores
            print(f'{name}: retrying once after: {e}')
            secs, times = _check(lab, name)
    finally: lab_done(request, name)
    print(f'{name}: Run All {secs:.1f} s, {time.time()-t0:.1f} s in the browser (' + ', '.join(f'{k} {v:.1f} s' for k, v in times.items()) + ')')
