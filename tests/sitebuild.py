"""The site of one `make test` run, built once, as `make docs` builds it (docs/build.py): in the background as soon as
the last notebook has run in JupyterLab (tests/conftest.py `lab_done`: the test processes go on with other tests
meanwhile), else by the first site test; a lock makes the site tests wait for a build under way.

    python tests/sitebuild.py RUN_ID     build the site for the run, unless it is built already
"""
import fcntl, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD, SITE = ROOT/'_build', ROOT/'_site'

def outcome_of(run:str) -> Path:
    "The file that says how the run's build went: empty when the site was built, else why not."
    return BUILD/'site-built'/run

def build(run:str) -> str:
    "Build the site once for the run `run` (waiting for a build under way): '' when it was built, else why not."
    BUILD.mkdir(exist_ok=True)
    outcome = outcome_of(run)
    with open(BUILD/'site.lock', 'w') as lock:  # not docs/build.py's own lock: its build, a child, takes that one
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not outcome.exists():
            r = subprocess.run([sys.executable, str(ROOT/'docs'/'build.py')], cwd=ROOT, capture_output=True, text=True)
            failed = (f'site build failed:\n{r.stdout[-4000:]}\n{r.stderr[-6000:]}' if r.returncode else
                      '' if r.stdout.strip().endswith(str(SITE/'index.html')) else f'site build printed {r.stdout[-500:]!r}')
            outcome.parent.mkdir(exist_ok=True); outcome.write_text(failed)
    return outcome.read_text()

def start(run:str):
    "Build the run's site in a process of its own, in the background."
    subprocess.Popen([sys.executable, __file__, run], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)

if __name__ == '__main__': build(sys.argv[1])
