"""Kernels for the JupyterLab of tests/test_lab.py that start in milliseconds: forked from one process that imported
the libraries every notebook imports (ipykernel, torch, numpy, matplotlib, ipywidgets) once.

Each notebook still gets a kernel of its own: a fresh process, an empty namespace, its own `import` cells run (they
find the modules already loaded, as a second `import torch` in a kernel does). What is saved is each kernel importing
them again: about 4 s of CPU a notebook on this 2-core machine, where the notebooks run two at a time.
`make nbtest` and `make docs` run every notebook in a fresh process of its own, as `nbdev_test` does.

    python tests/forkkernel.py serve SOCKET      the template: imports, then forks a kernel for each launcher
    python tests/forkkernel.py launch SOCKET -f CONNECTION_FILE
                                                 the kernel spec's command (what JupyterLab starts): asks the
                                                 template for a kernel and stands for it until it exits

The launcher passes its working folder, environment, arguments and standard streams; it forwards SIGINT and SIGTERM to
the kernel (JupyterLab interrupts a kernel by signalling the process it started), and when the launcher dies (killed
by JupyterLab after a shutdown that took too long) the kernel ends too. Without a template (not started, or gone), the
launcher becomes a plain `python -m ipykernel_launcher`.
"""
import json, os, signal, socket, sys

# torch._dynamo: imported by torch.optim the first time an optimizer is made (2.5 s of CPU in each notebook that trains)
PRELOAD = ['ipykernel.kernelapp', 'ipykernel.ipkernel', 'torch', 'torch._dynamo', 'numpy', 'matplotlib.pyplot',
           'matplotlib_inline.backend_inline', 'ipywidgets', 'PIL.Image', 'tqdm.auto']

def kernel_spec(sock:str) -> dict:
    "A kernel spec for JupyterLab whose kernels come from the template listening on `sock`."
    return {'argv': [sys.executable, os.path.abspath(__file__), 'launch', sock, '-f', '{connection_file}'],
            'display_name': 'Python 3 (ipykernel)', 'language': 'python', 'interrupt_mode': 'signal',
            'metadata': {'debugger': True}, 'kernel_protocol_version': '5.5'}

def start(folder, **popen):
    """Start a template on a socket in `folder` and write the `python3` kernel spec that asks it for kernels there:
    (the template's Popen, the folder to put first in JUPYTER_PATH). `popen`: Popen's arguments (env, cwd, stdout...)."""
    import subprocess
    from pathlib import Path
    folder, sock = Path(folder), str(Path(folder)/'kernels.sock')
    spec = folder/'jupyter-data'/'kernels'/'python3'; spec.mkdir(parents=True)
    (spec/'kernel.json').write_text(json.dumps(kernel_spec(sock)))
    template = subprocess.Popen([sys.executable, os.path.abspath(__file__), 'serve', sock], start_new_session=True, **popen)
    return template, str(folder/'jupyter-data')

def _child(conn:socket.socket, request:dict, fds:list):
    "In the forked process: become the launcher's kernel (its streams, folder, environment, arguments)."
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the template ignores its children; a kernel waits on its own
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.setsid()
    for fd, target in zip(fds, (0, 1, 2)): os.dup2(fd, target); os.close(fd)
    os.chdir(request['cwd'])
    os.environ.clear(); os.environ.update(request['env'])
    sys.path[0] = request['cwd']  # as `python -m ipykernel_launcher` started there has it (not this file's folder)
    # ipykernel read JPY_PARENT_PID when the template imported it: the launcher's value, as a kernel it starts has it
    sys.argv = ['ipykernel_launcher', *request['args'], f"--IPKernelApp.parent_handle={request['env'].get('JPY_PARENT_PID') or 0}"]
    conn.sendall(f'{os.getpid()}\n'.encode())
    import threading
    def orphaned():  # the launcher's end closes only when it exits: then so does this kernel
        try: conn.recv(1)
        finally: os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=orphaned, daemon=True).start()
    from ipykernel import kernelapp
    kernelapp.launch_new_instance()

def serve(sock:str):
    "Import what the notebooks import, then fork a kernel for each launcher that connects to `sock`."
    import importlib
    for name in PRELOAD: importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked kernels are reaped by the system
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(sock + '.tmp'); server.listen(8); os.rename(sock + '.tmp', sock)  # the socket appears once ready
    while True:
        conn, _ = server.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
        while not msg.endswith(b'\n'):  # a long environment may come in more than one piece
            more = conn.recv(1 << 16)
            if not more: break
            msg += more
        if os.fork() == 0:
            server.close()
            try: _child(conn, json.loads(msg), fds)
            finally: os._exit(0)
        conn.close()
        for fd in fds: os.close(fd)

def launch(sock:str, args:list):
    "Ask the template at `sock` for a kernel with `args`; stand for it (signals forwarded) until it exits."
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(sock)
        socket.send_fds(conn, [json.dumps({'cwd': os.getcwd(), 'env': dict(os.environ), 'args': args}).encode() + b'\n'], [0, 1, 2])
        pid = int(conn.makefile().readline())
    except (OSError, ValueError):  # no template: a kernel started the usual way
        os.execv(sys.executable, [sys.executable, '-m', 'ipykernel_launcher', *args])
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda s, _: os.kill(pid, s))
    parent = os.getppid()
    conn.settimeout(1.0)
    while os.getppid() == parent:  # JupyterLab gone: so is the kernel (as a kernel's own parent poller has it)
        try:
            if not conn.recv(1): return  # end of stream: the kernel has exited
        except TimeoutError: pass
    os.kill(pid, signal.SIGKILL)

if __name__ == '__main__':
    mode, sock, *rest = sys.argv[1:]
    serve(sock) if mode == 'serve' else launch(sock, rest)
