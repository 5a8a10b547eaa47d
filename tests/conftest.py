import os, re, sys, time, uuid, warnings
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
BROWSER_FILES = ('test_site.py', 'test_lab.py')

# `make test` runs two test processes on two cores: one thread each for PyTorch here (its tensors in these tests are
# small, and two threads per process only wait on each other). Subprocesses inherit it, except JupyterLab's kernels
# (tests/test_lab.py gives them the environment a reader's kernel has).
THREADS_SET_HERE = 'OMP_NUM_THREADS' not in os.environ
if THREADS_SET_HERE: os.environ['OMP_NUM_THREADS'] = '1'

def run_here(*args):
    """`rnn-lit ARGS` in this process, through `main(argv)` as the console script and `python -m rnn_lit.cli` call it:
    (exit status, stderr); no Python to start and no torch to import, seconds of CPU less than a subprocess. Python's
    warnings are shown as a fresh interpreter shows them (to stderr, by its default filters), and torch's thread count
    is put back after."""
    import contextlib, io, torch
    from rnn_lit.cli import main
    threads, stderr = torch.get_num_threads(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(stderr):
        warnings.resetwarnings()  # no filter: 'default' (once per place), then the interpreter's own ignores
        for cat in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning): warnings.simplefilter('ignore', cat)
        try: status = main([str(a) for a in args])
        except SystemExit as e: status = e.code
        finally: torch.set_num_threads(threads)
    err = stderr.getvalue() + ''.join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in caught)
    return status, err

def _wants_browser(config) -> bool:
    "Whether this run collects a browser test file (from the paths pytest was given)."
    ignored = {Path(p).resolve() for p in config.getoption('ignore') or []}
    for arg in config.args or ['.']:
        p = Path(str(arg).split('::')[0]).resolve()
        files = [p] if p.is_file() else list(p.rglob('test_*.py')) if p.is_dir() else []
        if any(f.name in BROWSER_FILES and f not in ignored for f in files): return True
    return False

def pytest_configure(config):
    "Browser tests are never skipped: with no browser to drive, stop before any test runs, saying what to install."
    if not hasattr(config, 'workerinput'): config.rnn_lit_run = uuid.uuid4().hex  # one id for this run, shared by its workers
    if hasattr(config, 'workerinput') or not _wants_browser(config): return  # checked once, by the main process
    from browser import chromium, NoBrowser
    try: chromium()
    except NoBrowser as e: pytest.exit(f'\n{e}\n(`make test` installs one itself where it can: see tests/browser.py)', returncode=2)

def pytest_configure_node(node):
    "xdist: each worker gets the run's id."
    node.workerinput['rnn_lit_run'] = node.config.rnn_lit_run

def run_id(config) -> str:
    return config.workerinput['rnn_lit_run'] if hasattr(config, 'workerinput') else config.rnn_lit_run

# ---- the order of `make test`'s two processes (pytest -n 2 --dist loadgroup --no-loadscope-reorder) --------------
# The notebooks run once, in JupyterLab (tests/test_lab.py, two groups: lab0 and lab1, one per process). The other
# tests are handed out in this order as the processes free up (xdist gives a process the next unit when it has two
# tests or fewer left), the site's last: it is built from the notebooks' outputs (its first test in each process
# waits for them), then its pages are checked by both processes.
_ORDER = ['test_lab.py', 'test_sync.py', 'test_cli.py', 'test_ddp.py', 'test_install.py', 'test_module_db.py', 'test_forkkernel.py', 'test_site.py']
LAB_DONE = ROOT/'_build'/'lab-done'

def pytest_collection_modifyitems(session, config, items):
    rank = lambda item: _ORDER.index(item.path.name) if item.path.name in _ORDER else len(_ORDER) - 1
    items.sort(key=rank)  # stable: each file's own order kept

def group_of(nodeid:str) -> str:
    """The unit of work a test belongs to in `make test`'s two processes: a lab group (named in the test's id, e.g.
    `test_notebook_in_jupyterlab[lab0-01_memory.ipynb]`); all of test_cli.py, all of test_ddp.py (their module
    fixtures are made once); the tests of one page of the site; any other test alone."""
    m = re.search(r'test_lab\.py::[^\[]*\[(lab\d+)-', nodeid)
    if m: return m.group(1)
    m = re.search(r'test_site\.py::\w+\[([^\]]+)\]', nodeid)
    if m: return f'site-{m.group(1)}'  # one page's tests in one process: its widget test reuses the page test_page loaded
    for name in ('test_cli.py', 'test_ddp.py'):
        if f'{name}::' in nodeid: return name
    return nodeid

def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup` by `group_of`: each group's tests run in one process, in collection order; groups are handed
    out in collection order (`--no-loadscope-reorder`). pytest-xdist 3.8's own loadgroup names a group by changing
    the test's `_nodeid`, which pytest 9 no longer reads: its groups are silently ignored."""
    if config.getvalue('dist') != 'loadgroup': return None
    from xdist.scheduler import LoadScopeScheduling
    class Groups(LoadScopeScheduling):
        def _split_scope(self, nodeid): return group_of(nodeid)
    return Groups(config, log)

def lab_done(request, name:str):
    """Mark notebook `name` done in JupyterLab in this run (passed or not), for the site to wait on; the last one to
    be done starts the site's build in the background (tests/sitebuild.py) when the run has site tests."""
    run, items = run_id(request.config), request.session.items
    d = LAB_DONE/run; d.mkdir(parents=True, exist_ok=True)
    (d/name).touch()
    want = {i.callspec.params['name'] for i in items if i.path.name == 'test_lab.py'}
    if not (want <= {p.name for p in d.glob('*')} and any(i.path.name == 'test_site.py' for i in items)): return
    try: (d/'.site-started').touch(exist_ok=False)  # once, by whichever process is first here
    except FileExistsError: return
    import sitebuild
    sitebuild.start(run)

def pytest_runtest_setup(item):
    "The site's first test waits until every notebook of this run has run in JupyterLab (its outputs are the site's)."
    if item.path.name != 'test_site.py' or getattr(item.config, '_rnn_lit_waited', False): return
    item.config._rnn_lit_waited = True
    labs = [i for i in item.session.items if i.path.name == 'test_lab.py']
    if not labs: return  # the site alone: docs/build.py runs the notebooks itself
    want = {i.callspec.params['name'] for i in labs}
    d, t0 = LAB_DONE/run_id(item.config), time.time()
    while time.time() - t0 < 1800:
        done = {p.name for p in d.glob('*')} if d.exists() else set()
        if want <= done: break
        time.sleep(1)
    else: print(f'site: gave up waiting for JupyterLab runs of {sorted(want - done)}: docs/build.py runs them')
    if time.time() - t0 > 1: print(f'site: waited {time.time()-t0:.0f} s for the notebooks still running in JupyterLab')
