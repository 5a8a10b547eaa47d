"""Install rnn_lit and its dev requirements into a venv: `make install` (and every make target that needs the venv).

  VENV/bin/python .ci/install.py

The requirements are resolved as pip resolves them (the pins of .ci/constraints.txt, pip's own configuration: its
indexes, find-links and constraint files) but installed by `uv`, which unpacks wheels in parallel: on a 2-core
machine the venv takes about 20 s instead of about 60 s with pip (torch and JupyterLab are hundreds of MB of small
files). uv itself is pip-installed into the venv first. Where that or uv's install fails (no uv wheel for this
platform, an index uv cannot read), the same install is done by pip, and the reason is printed.
"""
import shlex, subprocess, sys, time

PIP_FLAGS = ['-q', '--no-compile', '--disable-pip-version-check']  # bytecode: compiled at first import (see Makefile)
REQUIREMENTS = ['-c', '.ci/constraints.txt', '-e', '.[dev]']
# pip's settings that choose what gets installed, and uv's flag for each (pip names them as in `pip config list`)
PIP_TO_UV = {'index-url': '--index-url', 'extra-index-url': '--extra-index-url', 'find-links': '--find-links',
             'constraint': '--constraint', 'no-index': '--no-index'}

def pip_settings(python:str) -> list:
    "uv flags for what pip's configuration (files and PIP_* variables, as `pip config list` shows them) sets."
    out = subprocess.run([python, '-m', 'pip', 'config', 'list'], capture_output=True, text=True, check=True).stdout
    flags = []
    for line in out.splitlines():  # e.g. global.extra-index-url='file:///a file:///b'  or  :env:.find-links='/opt/wheels'
        key, _, value = line.partition('=')
        flag = PIP_TO_UV.get(key.rsplit('.', 1)[-1])
        if not flag: continue
        values = shlex.split(value)[0].split() if value else []
        if flag == '--no-index': flags += [flag] if values and values[0].lower() in ('1', 'true', 'yes', 'on') else []
        else: flags += [a for v in values for a in (flag, v)]
    return flags

def with_uv(python:str):
    "Install with uv: raises CalledProcessError where it cannot."
    subprocess.run([python, '-m', 'pip', 'install', *PIP_FLAGS, 'uv'], check=True)
    uv = [python, '-m', 'uv', 'pip', 'install', '--quiet', '--python', python,
          '--index-strategy', 'unsafe-best-match']  # pip's rule: every index offers every version
    subprocess.run(uv + pip_settings(python) + REQUIREMENTS, check=True)

def with_pip(python:str):
    subprocess.run([python, '-m', 'pip', 'install', *PIP_FLAGS, *REQUIREMENTS], check=True)

if __name__ == '__main__':
    python, t0 = sys.executable, time.time()
    try: with_uv(python)
    except (subprocess.CalledProcessError, OSError) as e:
        print(f'install: uv could not install the requirements ({e}); installing them with pip instead', file=sys.stderr)
        with_pip(python)
    print(f'install: the venv is ready ({time.time() - t0:.0f} s)')
