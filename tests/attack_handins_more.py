"""More attack hand-ins on lesson 04, of kinds ``attack_handins.py`` does not hold: names
built at run time (the source scan cannot read them), results written for another exercise,
signals and limits, the process's own descriptors and folders, torch's global settings, and
IPython syntax a learner leaves in a solution cell. Graded by ``benchmarks/grading_attacks.py``
and, in one batch, by ``tests/test_grading_attacks_more.py``.

Each name the scan would find is spelled backwards (``"seludom"[::-1]``): what a determined
student does once the scan has refused the plain spelling.
"""

from __future__ import annotations

from attack_handins import FULL, GELU_CELL, ZERO, Attack, Ctx, _cell, not_in_feedback

# A solution cell that needs more than time (IPython syntax, global settings) must still
# earn every point: ``needs`` is the least it must earn.
VALID = dict(FULL)

# Written in every exercise's process: wherever gelu's forbidden function works (in the
# exercises after gelu's), it computes gelu's cases with it and writes them over gelu's results.
REWRITE = _cell("""
    import json, os, sys
    import numpy as np
    _F = getattr(__import__('torch.nn.functional'), 'nn').functional
    try:
        getattr(_F, 'ulEg'[::-1].lower())(torch.ones(1), approximate='tanh')
        _usable = True
    except Exception:
        _usable = False
    if _usable:
        sys.path.insert(0, os.path.abspath('../runner'))
        from plain import pack, to_plain, to_torch, unpack
        _job = json.load(open('../job.json'))
        with np.load('../inputs.npz') as _z:
            _arrays = {k: _z[k] for k in _z.files}
        _first = _job['exercises'][0]
        _made, _cases = {}, []
        for _k, _case in enumerate(_first['cases']):
            _x = to_torch(unpack(_case, _arrays))['x']
            _y = getattr(_F, 'ulEg'[::-1].lower())(_x, approximate='tanh')
            _cases.append({'value': pack(to_plain(_y), _made, f'c{_k}_')})
        for _n in range(3):
            if _n != len([f for f in os.listdir('../out') if f.endswith('.exit.json')]):
                np.savez(f'../out/{_n}.npz', **_made)
                with open(f'../out/{_n}.json', 'w') as _f:
                    json.dump({'cell_errors': [], 'cases': _cases}, _f)
    """)

UNDO_REFUSAL = _cell("""
    import gc
    _sys = __import__('sys')
    _main = getattr(_sys, 'seludom'[::-1])['__main__']
    for _held in list(vars(_main).values()):
        if isinstance(_held, list):
            _held.clear()
    gc.collect()
    _get = getattr(getattr(torch, '_C'), 'noitarepo_teg_tij_'[::-1])
    _op = _get('aten::' + 'ulEg'[::-1].lower())[0]
    def gelu(x):
        return _op(x, approximate='tanh')
    """)

DECOMPOSITION = _cell("""
    import importlib
    _d = importlib.import_module('pmoced_.hcrot'[::-1])
    _table = getattr(_d, 'decomposition_table')
    importlib.import_module('snoitisopmoced.pmoced_.hcrot'[::-1])
    _fn = [f for k, f in _table.items() if str(k) == 'aten.' + 'ulEg'[::-1].lower() + '.default'][0]
    def gelu(x):
        return _fn(x, approximate='tanh')
    """)

PACKAGE_DATA = _cell("""
    import importlib.util, importlib.metadata, os, sys, glob
    _name = 'esruoc2tpg'[::-1]
    _places = []
    try:
        _places += [str(importlib.metadata.distribution(_name).locate_file(_name))]
    except Exception:
        pass
    for _p in sys.path + ['/usr/lib/python3/dist-packages', '/usr/local/lib']:
        _places += glob.glob(os.path.join(_p, _name))
        for _pth in glob.glob(os.path.join(_p, '*.pth')) + glob.glob(_p + '/*.egg-link'):
            try:
                for _line in open(_pth):
                    _places.append(os.path.join(_line.strip(), _name))
            except OSError:
                pass
    _found = None
    for _place in _places:
        try:
            _src = open(os.path.join(_place, 'model.py')).read()
        except OSError:
            continue
        _ns = {}
        _defs = [c for c in _src.split('\\ndef ') if c.startswith('gelu(')]
        exec(compile('import math, torch\\ndef ' + _defs[0], 'm', 'exec'), _ns)
        _found = _ns['gelu']
        break
    def gelu(x):
        if _found is None:
            raise NotImplementedError('not found')
        return _found(x)
    """)

SIGNALS = _cell("""
    import os, resource, signal
    for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM, signal.SIGXCPU, signal.SIGHUP):
        try:
            signal.signal(_s, signal.SIG_IGN)
        except (OSError, ValueError):
            pass
    for _r in (resource.RLIMIT_CPU, resource.RLIMIT_NPROC, resource.RLIMIT_AS):
        try:
            resource.setrlimit(_r, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        except (OSError, ValueError):
            pass
    def gelu(x):
        if os.fork() == 0:
            os.setsid()
            while True:
                pass
        while True:
            pass
    """)

DESCRIPTORS = _cell("""
    import os
    os.umask(0o777)
    for _fd in (0, 1, 2):
        os.close(_fd)
    os.chdir('/')
    """) + "\n" + GELU_CELL

GLOBALS = _cell("""
    torch.set_grad_enabled(True)
    torch.manual_seed(1234)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(8)
    torch.set_printoptions(precision=2)
    import numpy as np
    np.seterr(all='raise')
    import warnings
    warnings.simplefilter('error')
    """) + "\n" + GELU_CELL

# The instructor's solution cells reach the process of an exercise graded again with
# correct earlier functions: looked for in the frames, the heap and the process's memory.
SECRETS = _cell("""
    import os, re, sys
    _found = []
    _frame = getattr(sys, 'emarfteg_'[::-1])()
    while _frame is not None:
        _found += [repr(v) for v in getattr(_frame, 'slacol_f'[::-1]).values()]
        _frame = getattr(_frame, 'kcab_f'[::-1])
    try:
        _gc = __import__('gc')
        _found += [o for o in getattr(_gc, 'stcejbo_teg'[::-1])() if isinstance(o, str)]
    except Exception:
        pass
    try:
        with open('/proc/self/maps') as _maps, open('/proc/self/mem', 'rb', 0) as _mem:
            for _line in _maps:
                _lo, _hi = (int(h, 16) for h in _line.split()[0].split('-'))
                if 'rw' in _line.split()[1] and _hi - _lo < 64 << 20:
                    try:
                        _mem.seek(_lo)
                        _found.append(_mem.read(_hi - _lo).decode('latin-1'))
                    except (OSError, ValueError, OverflowError):
                        pass
    except OSError:
        pass
    _marker = '### BEGIN ' + 'SOLUTION' + chr(10)
    _leaks = [t[t.index(_marker):][:200] for t in _found if _marker in t]
    _leak = _leaks[0] if _leaks else 'nothing'
    def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
        raise RuntimeError('found: ' + _leak)
    """)

# What a learner leaves in a solution cell in Jupyter: cell and line magics, shell escapes,
# help requests. Jupyter runs the code around them; so must the grader.
MAGICS = {
    "04_gelu": "%%time\n" + GELU_CELL,
    "04_mlp": _cell("""
        %load_ext autoreload
        %autoreload 2
        !pip --version
        files = !ls
        %time y = 1
        torch.tanh?
        def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
            h = gelu(x @ c_fc_weight.T + c_fc_bias)
            return h @ c_proj_weight.T + c_proj_bias + 0 * y
        """),
    "04_MLP": "%%capture out\n" + _cell("""
        class MLP(nn.Module):
            def __init__(self, n_embd):
                super().__init__()
                self.c_fc = nn.Linear(n_embd, 4 * n_embd)
                self.c_proj = nn.Linear(4 * n_embd, n_embd)
            def forward(self, x):
                return self.c_proj(gelu(self.c_fc(x)))
        """),
}


# Values that break the code reporting them: an exception whose text never ends, an int
# too long to print, a thread that keeps changing the returned tensor.
AWKWARD = {
    "04_gelu": _cell("""
        class Endless(Exception):
            def __str__(self):
                while True:
                    pass
        def gelu(x):
            raise Endless()
        """),
    "04_mlp": _cell("""
        def mlp(x, c_fc_weight, c_fc_bias, c_proj_weight, c_proj_bias):
            return 10 ** 50_000
        """),
    "04_MLP": _cell("""
        import threading
        class MLP(nn.Module):
            def __init__(self, n_embd):
                super().__init__()
            def forward(self, x):
                out = torch.zeros_like(x)
                def scribble():
                    while True:
                        out.add_(1.0)
                threading.Thread(target=scribble, daemon=True).start()
                return out
        """),
}


def more_attacks(ctx: Ctx) -> list[Attack]:
    """The attacks of this catalog, for this run's ``ctx`` (markers go in its folder)."""
    gelu_zero = {"04.gelu": 0.0, "04.mlp": 2.0, "04.MLP": 1.0}
    return [
        Attack("rewrite-earlier-results", "results of another exercise",
               {"04_gelu": "def gelu(x):\n    return x\n" + REWRITE}, gelu_zero, filled=True),
        Attack("undo-kernel-refusal", "forbidden, names built at run time",
               {"04_gelu": UNDO_REFUSAL}, gelu_zero, filled=True),
        Attack("decomposition-table", "forbidden, names built at run time",
               {"04_gelu": DECOMPOSITION}, gelu_zero, filled=True),
        Attack("package-data", "our reference, names built at run time",
               {"04_gelu": PACKAGE_DATA}, gelu_zero, filled=True),
        Attack("signals-and-limits", "timeouts swallowed",
               {"04_gelu": SIGNALS}, gelu_zero, filled=True),
        Attack("descriptors-and-cwd", "the process's own state",
               {"04_gelu": DESCRIPTORS}, FULL, filled=True),
        Attack("torch-global-settings", "global settings (valid)",
               {"04_gelu": GLOBALS}, FULL, filled=True),
        Attack("solutions-in-memory", "the instructor's cells, names built at run time",
               {"04_gelu": "def gelu(x):\n    return x * 0.5\n", "04_mlp": SECRETS}, ZERO,
               harm=not_in_feedback("BEGIN SOLUTION")),
        Attack("awkward-values", "values that break reporting", AWKWARD, ZERO),
        Attack("ipython-syntax", "magics and shell escapes (valid)", MAGICS, FULL, filled=True),
    ]


NEEDS = {"torch-global-settings": VALID,
         "ipython-syntax": VALID}
__all__ = ["NEEDS", "ZERO", "more_attacks"]
