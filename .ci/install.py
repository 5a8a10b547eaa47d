"""Install rnn_lit and its dev requirements into a venv: `make install` (and every make target that needs the venv).

  VENV/bin/python .ci/install.py

The requirements are resolved as pip resolves them (the pins of .ci/constraints.txt, pip's own configuration: its
indexes, find-links and constraint files) but installed by `uv`, which unpacks wheels in parallel: on a 2-core
machine the venv takes about 20 s instead of about 60 s with pip (torch and JupyterLab are hundreds of MB of small
files). The venv is made without pip (`python -m venv --without-pip`: 5 s less): uv is installed into it by the pip of
the Python it was made from (pip >= 22.3 installs into another environment with `--python`), or, where that Python
has no such pip, by the venv's own pip from `ensurepip`; uv then installs pip too. Where uv's install fails (no uv
wheel for this platform, an index uv cannot read), the same install is done by pip, and the reason is printed.
"""
import shlex, subprocess, sys, time

PIP_FLAGS = ['-q', '--no-compile', '--disable-pip-version-check']  # bytecode: compiled at first import (see Makefile)
REQUIREMENTS = ['-c', '.ci/constraints.txt', '-e', '.[dev]', 'pip']  # pip: the venv's own, for users and `pip wheel`
# pip's settings that choose what gets installed, and uv's flag for each (pip names them as in `pip config list`)
PIP_TO_UV = {'index-url': '--index-url', 'extra-index-url': '--extra-index-url', 'find-links': '--find-links',
             'constraint': '--constraint', 'no-index': '--no-index'}

def pip_for(python:str) -> list:
    "A pip command that installs into the venv of `python`: the base Python's pip with `--python`, else the venv's own."
    base = getattr(sys, '_base_executable', None)  # the Python the venv was made from
    if base and base != python and subprocess.run([base, '-m', 'pip', '--python', python, '--version'], capture_output=True).returncode == 0:
        return [base, '-m', 'pip', '--python', python]
    if subprocess.run([python, '-m', 'pip', '--version'], capture_output=True).returncode != 0:
        subprocess.run([python, '-m', 'ensurepip', '--default-pip'], check=True, capture_output=True)
    return [python, '-m', 'pip']

def pip_settings(pip:list) -> list:
    "uv flags for what pip's configuration (files and PIP_* variables, as `pip config list` shows them) sets."
    out = subprocess.run(pip + ['config', 'list'], capture_output=True, text=True, check=True).stdout
    flags = []
    for line in out.splitlines():  # e.g. global.extra-index-url='file:///a file:///b'  or  :env:.find-links='/opt/wheels'
        key, _, value = line.partition('=')
        flag = PIP_TO_UV.get(key.rsplit('.', 1)[-1])
        if not flag: continue
        values = shlex.split(value)[0].split() if value else []
        if flag == '--no-index': flags += [flag] if values and values[0].lower() in ('1', 'true', 'yes', 'on') else []
        else: flags += [a for v in values for a in (flag, v)]
    return flags

def with_uv(python:str, pip:list):
    "Install with uv: raises CalledProcessError where it cannot."
    subprocess.run(pip + ['install', *PIP_FLAGS, 'uv'], check=True)
    uv = [python, '-m', 'uv', 'pip', 'install', '--quiet', '--python', python,
          '--index-strategy', 'unsafe-best-match']  # pip's rule: every index offers every version
    subprocess.run(uv + pip_settings(pip) + REQUIREMENTS, check=True)

def with_pip(pip:list):
    subprocess.run(pip + ['install', *PIP_FLAGS, *REQUIREMENTS], check=True)

if __name__ == '__main__':
    python, t0 = sys.executable, time.time()
    pip = pip_for(python)
    try: with_uv(python, pip)
    except (subprocess.CalledProcessError, OSError) as e:
        print(f'install: uv could not install the requirements ({e}); installing them with pip instead', file=sys.stderr)
        with_pip(pip)
    print(f'install: the venv is ready ({time.time() - t0:.0f} s)')
