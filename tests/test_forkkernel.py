"""tests/forkkernel.py, the kernels of tests/test_lab.py: a kernel forked from the template runs code in a fresh
namespace in the launcher's folder, is interrupted by a signal to the launcher (as JupyterLab interrupts a kernel),
restarts, and ends when its launcher is killed."""
import os, signal, time
import pytest
import forkkernel

@pytest.fixture
def kernels(tmp_path, monkeypatch):
    "A template on a socket in `tmp_path`, and the kernel spec that asks it for kernels, first in JUPYTER_PATH."
    sock = str(tmp_path/'kernels.sock')
    template, jupyter_path = forkkernel.start(tmp_path)
    monkeypatch.setenv('JUPYTER_PATH', jupyter_path)
    try:
        deadline = time.time() + 120
        while not os.path.exists(sock) and template.poll() is None and time.time() < deadline: time.sleep(0.05)
        assert os.path.exists(sock), 'the template did not start listening'
        yield tmp_path
    finally: template.kill(); template.wait()

def _run(kc, code) -> list:
    "The text the kernel printed for `code`."
    out = []
    kc.execute_interactive(code, timeout=60, output_hook=lambda m: out.append(m['content'].get('text', '')))
    return ''.join(out).split()

def test_forked_kernel(kernels, tmp_path, monkeypatch):
    from jupyter_client.manager import start_new_kernel
    monkeypatch.chdir(tmp_path)
    km, kc = start_new_kernel(kernel_name='python3', cwd=str(tmp_path))
    try:
        launcher = km.provisioner.process.pid
        pid, ppid, cwd, torch_loaded = _run(kc, "import os, sys; print(os.getpid(), os.getppid(), os.getcwd(), 'torch' in sys.modules)")
        assert int(ppid) != launcher and torch_loaded == 'True', 'expected a kernel forked from the template (torch imported there)'
        assert cwd == str(tmp_path)
        kc.execute('import time; time.sleep(60)')
        time.sleep(1)
        km.interrupt_kernel()  # SIGINT to the launcher, forwarded to the kernel
        reply = kc.get_shell_msg(timeout=20)
        assert reply['content'].get('ename') == 'KeyboardInterrupt', reply['content']
        assert _run(kc, "import subprocess; print(subprocess.run([sys.executable, '-c', 'pass']).returncode)") == ['0']  # it waits on its own children
        km.restart_kernel(now=False); kc.wait_for_ready(timeout=60)
        assert _run(kc, "print('os' in dir())") == ['False']  # a fresh namespace
        pid = int(_run(kc, "import os; print(os.getpid())")[0])
        os.kill(km.provisioner.process.pid, signal.SIGKILL)  # JupyterLab gave up on a shutdown
        deadline = time.time() + 10
        while os.path.exists(f'/proc/{pid}') and open(f'/proc/{pid}/stat').read().split()[2] != 'Z' and time.time() < deadline: time.sleep(0.1)
        assert not os.path.exists(f'/proc/{pid}') or open(f'/proc/{pid}/stat').read().split()[2] == 'Z', 'the kernel outlived its launcher'
    finally:
        kc.stop_channels()
        if km.has_kernel: km.shutdown_kernel(now=True)
