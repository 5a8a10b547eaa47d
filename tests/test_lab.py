"""Run cell by cell, as a reader does: every notebook in a real JupyterLab, in headless Chromium.

For each notebook: Run All in a fresh kernel, wait until it is idle, save, and check that no cell raised
and every code cell ran. For each Part I chapter, change the main widget's first control (a slider moved to
its end, a text box, or a dropdown) and wait until the widget's plot changes. Screenshots before and after
go to _build/screenshots/ (git-ignored); a failure keeps one (`lab-NAME-FAILED.png`) and its message says which
notebook, which cell or control, and what was expected.

JupyterLab runs on 127.0.0.1 with a token, its settings and runtime in a temporary folder, on a
temporary copy of nbs/ (autosave never touches the tracked notebooks). `#| slow` cells are blanked in
that copy: they are long experiments, skipped here as `nbdev_test` skips them. Kernel tests are serial,
with timeouts and one retry, since they are sensitive to CPU load on two cores.
"""
import importlib.util, json, os, re, secrets, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from conftest import ROOT
from browser import browser_page, screenshot, shot_path

_spec = importlib.util.spec_from_file_location('site_build', ROOT/'docs'/'build.py')
B = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(B)
NBS = [p.name for p in B.notebooks(ROOT/'nbs')]
CHAPTERS = [n for n in NBS if B.part(Path(n).stem) == 1 and re.match(r'\d+[a-z]?_', n)]  # each Part I chapter has a widget
RUN_TIMEOUT = float(os.environ.get('RNN_LIT_LAB_TIMEOUT', 240))  # seconds for Run All of one notebook

def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _blank_slow_cells(nb_path:Path):
    nb = json.loads(nb_path.read_text())
    for c in nb['cells']:
        if c['cell_type'] == 'code' and re.search(r'^#\|\s*slow\s*$', ''.join(c['source']), re.M):
            c['source'] = ['# (a `#| slow` experiment: skipped by the browser test)']
    nb_path.write_text(json.dumps(nb, indent=1))

@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    "A JupyterLab server on a temporary copy of nbs/; yields (base url, token, notebook folder)."
    tmp = tmp_path_factory.mktemp('lab')
    nbdir = tmp/'nbs'
    shutil.copytree(ROOT/'nbs', nbdir, ignore=shutil.ignore_patterns('.ipynb_checkpoints'))
    for nb in nbdir.glob('*.ipynb'): _blank_slow_cells(nb)
    settings = tmp/'user-settings'/'@jupyterlab'/'apputils-extension'
    settings.mkdir(parents=True)
    (settings/'notification.jupyterlab-settings').write_text(json.dumps({'fetchNews': 'false', 'checkForUpdates': False}))
    (settings.parent/'notebook-extension').mkdir()
    (settings.parent/'notebook-extension'/'tracker.jupyterlab-settings').write_text(json.dumps({'autoStartDefaultKernel': True}))
    app_settings = tmp/'app-settings'; app_settings.mkdir()
    (app_settings/'overrides.json').write_text(json.dumps(
        {'@jupyterlab/apputils-extension:notification': {'fetchNews': 'false', 'checkForUpdates': False}}))
    token, port = secrets.token_hex(16), _free_port()
    env = {**os.environ, 'JUPYTERLAB_SETTINGS_DIR': str(tmp/'user-settings'),
           'JUPYTERLAB_WORKSPACES_DIR': str(tmp/'workspaces'), 'JUPYTER_RUNTIME_DIR': str(tmp/'runtime'),
           'JUPYTER_CONFIG_DIR': str(tmp/'config'), 'MPLBACKEND': 'module://matplotlib_inline.backend_inline',
           'PYTHONPATH': str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', '')}
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--allow-root', '--ServerApp.ip=127.0.0.1',
           f'--ServerApp.port={port}', '--ServerApp.port_retries=0', f'--IdentityProvider.token={token}',
           f'--ServerApp.root_dir={nbdir}', f'--LabServerApp.app_settings_dir={app_settings}',
           '--LabApp.news_url=', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
    log = open(tmp/'lab.log', 'w')
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f'http://127.0.0.1:{port}'
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=2); break
            except Exception:
                if proc.poll() is not None: pytest.fail(f'JupyterLab exited:\n{(tmp/"lab.log").read_text()[-3000:]}')
                time.sleep(0.5)
        else: pytest.fail(f'JupyterLab did not start:\n{(tmp/"lab.log").read_text()[-3000:]}')
        yield base, token, nbdir
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try: proc.wait(10)
        except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL)
        log.close()

_PANEL = '.jp-NotebookPanel:not(.lm-mod-hidden)'

def _kernel_ready(page, timeout):
    "Wait until the kernel is connected and idle (the status bar reads '... | Idle')."
    page.wait_for_function("""() => Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'))
        .some(e => /\\|\\s*Idle/.test(e.textContent))""", timeout=timeout*1000)

def _wait_all_ran(page, timeout) -> str:
    """Wait until every code cell shows an execution number and the kernel is idle ('all'), or until Run All has
    stopped early, at an error: the kernel idle and no cell queued for 2 s ('stopped')."""
    return page.wait_for_function("""(panel) => {
        const prompts = Array.from(document.querySelectorAll(panel + ' .jp-CodeCell .jp-InputPrompt'));
        const ind = document.querySelector(panel + ' .jp-Notebook-ExecutionIndicator');
        const idle = !ind || ind.getAttribute('data-status') === 'idle';
        if (idle && prompts.every(p => /\\[\\d+\\]/.test(p.textContent))) return 'all';  // none at all: nothing to run
        if (idle && prompts.some(p => /\\[\\d+\\]/.test(p.textContent)) && !prompts.some(p => /\\[\\*\\]/.test(p.textContent))) {
            window.__rnnLitIdle = (window.__rnnLitIdle || 0) + 1; return window.__rnnLitIdle >= 4 ? 'stopped' : false; }
        window.__rnnLitIdle = 0; return false; }""", arg=_PANEL, timeout=timeout*1000, polling=500).json_value()

class LabFailure(AssertionError): pass

_PENDING_JS = """(panel) => Array.from(document.querySelectorAll(panel + ' .jp-CodeCell')).map((c, i) => [i,
    (c.querySelector('.jp-InputPrompt') || {}).textContent || '', (c.querySelector('.jp-InputArea-editor') || {}).textContent || ''])
    .filter(([i, p, src]) => !/\\[\\d+\\]/.test(p)).map(([i, p, src]) => `code cell ${i} ${p.trim()} ${src.trim().split('\\n')[0].slice(0, 70)}`)"""

def _step(name, what, fn):
    "Run one step of the check; a timeout fails with the notebook, the step and what was expected."
    try: return fn()
    except Exception as e:
        if 'Timeout' not in type(e).__name__: raise
        raise LabFailure(f'{name}: {what}: timed out ({str(e).splitlines()[0]})') from e

def _run_all(page, base, token, name):
    _step(name, 'opening the notebook in JupyterLab (expected its cells to show within 60 s)',
          lambda: (page.goto(f'{base}/lab/tree/{name}?token={token}&reset'),
                   page.wait_for_selector('.jp-NotebookPanel .jp-Notebook .jp-Cell', timeout=60000)))
    page.wait_for_timeout(500)
    select = page.locator('.jp-Dialog button.jp-mod-accept', has_text='Select')
    if select.count(): select.click()  # a kernel picker, when JupyterLab asks which kernel to start
    _step(name, 'starting the kernel (expected the status bar to read Idle within 90 s)', lambda: _kernel_ready(page, 90))
    page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
    page.locator('li[data-command="runmenu:run-all"]').click()
    try: _wait_all_ran(page, RUN_TIMEOUT)
    except Exception as e:
        if 'Timeout' not in type(e).__name__: raise
        pending = page.evaluate(_PENDING_JS, _PANEL)
        raise LabFailure(f'{name}: Run All did not finish in {RUN_TIMEOUT:.0f} s: expected every code cell to show an '
                         f'execution number and the kernel Idle; {len(pending)} cell(s) not run, first: {pending[:3]}') from e
    page.keyboard.press('Control+s')
    page.wait_for_timeout(1500)

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

def _shutdown_kernels(base, token, name):
    "Stop the notebook's kernel (closing the page leaves it running, and an idle PyTorch kernel still takes CPU)."
    try:
        with urllib.request.urlopen(f'{base}/api/sessions?token={token}', timeout=10) as r: sessions = json.load(r)
        for sess in sessions:
            if Path(sess.get('path', '')).name == name:
                urllib.request.urlopen(urllib.request.Request(f"{base}/api/sessions/{sess['id']}?token={token}", method='DELETE'), timeout=30)
    except Exception as e: print(f'{name}: could not stop its kernel: {e}')

def _check(lab, name):
    base, token, nbdir = lab
    try: _check_page(lab, name)
    finally: _shutdown_kernels(base, token, name)

def _check_page(lab, name):
    base, token, nbdir = lab
    stem = Path(name).stem
    with browser_page(1400, 1000) as (page, blocked):
        try:
            _run_all(page, base, token, name)
            problems = _saved_problems(nbdir/name)
            assert not problems, f'{name}: after Run All, expected every code cell run without error: {problems}'
            if name in CHAPTERS: _move_widget(page, name, stem)
            else: screenshot(page, f'lab-{stem}', full_page=False)
        except Exception as e:
            path = screenshot(page, f'lab-{stem}-FAILED', full_page=False)
            if isinstance(e, AssertionError): raise type(e)(f'{e}\n(screenshot: {path})') from e
            raise
        assert not blocked, f'{name}: requests outside 127.0.0.1: {blocked[:3]}'

def _move_widget(page, name, stem):
    "Change the first interactive widget's first control and wait for its plot to change."
    widget = page.locator('.widget-interact').first
    assert widget.count(), f'{name}: no interactive widget (.widget-interact) on the page after Run All, expected one per chapter'
    widget.scroll_into_view_if_needed()
    img = widget.locator('.widget-output img').first
    _step(name, "waiting for the first widget's plot (expected an image in its output within 30 s)", lambda: img.wait_for(timeout=30000))
    before = img.get_attribute('src')
    widget.screenshot(path=str(shot_path(f'lab-{stem}-before')))
    what = _change_first_control(widget)
    _step(name, f"first widget, {what}: expected its plot to change within 30 s",
          lambda: page.wait_for_function("([el, old]) => { const i = el.querySelector('.widget-output img'); return i && i.src !== old; }",
                                         arg=[widget.element_handle(), before], timeout=30000))
    page.wait_for_timeout(300)
    widget.screenshot(path=str(shot_path(f'lab-{stem}-after')))
    print(f'{name}: {what}: the plot changed')

def _halves(names) -> list:
    """The notebooks split in two groups of about equal run time (the last recorded by `make nbtest`, longest first):
    `make pytest` runs the groups in its two processes, each with its own JupyterLab."""
    try: secs = {f'{k}.ipynb': v['secs'] for k, v in json.loads((ROOT/'_build'/'exec'/'record.json').read_text()).items()}
    except (OSError, ValueError, KeyError, TypeError): secs = {}
    load, out = [0.0, 0.0], []
    for n in sorted(names, key=lambda n: -secs.get(n, 30)):
        k = load.index(min(load)); load[k] += secs.get(n, 30) + 10  # + JupyterLab's own seconds per notebook
        out.append(pytest.param(n, marks=pytest.mark.xdist_group(f'lab{k}'), id=n))
    return sorted(out, key=lambda p: NBS.index(p.values[0]))

@pytest.mark.parametrize('name', _halves(NBS))
def test_notebook_in_jupyterlab(lab, name):
    t0 = time.time()
    try: _check(lab, name)
    except LabFailure as e:  # one retry of a timeout: kernel starts are sensitive to load on two cores
        print(f'{name}: retrying once after: {e}')
        _check(lab, name)
    print(f'{name}: {time.time()-t0:.1f} s in the browser')
