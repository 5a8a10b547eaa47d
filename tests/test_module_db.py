"""ScratchRNN, ScratchLSTM and ScratchGRU against PyTorch's own module tests.

Every sample of the `ModuleInfo` entries of `torch.testing._internal.common_modules.module_db` for `nn.RNN`,
`nn.GRU` and `nn.LSTM` (`module_inputs_func(..., with_packed_sequence=True)`, CPU, float32 and float64, training
and eval) builds our module with exactly the sample's constructor arguments, copies torch's weights into it and
must give torch's outputs, last states and every gradient (input, initial state, each parameter) at
`torch.testing.assert_close`'s tolerances for the dtype. Every `module_error_inputs_func` input must raise torch's
exception type, with a message that names the argument. Then what the samples do not reach: larger and batched
shapes, dropout (by its statistics), double backward, an empty batch, save/deepcopy, no_grad, meta.
"""
import copy
import functools
import io
import itertools
import sys
import types
import unittest
import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from rnn_lit.forward import ScratchRNN
from rnn_lit.gated import ScratchLSTM, ScratchGRU

OURS = {nn.RNN: ScratchRNN, nn.GRU: ScratchGRU, nn.LSTM: ScratchLSTM}
NAMES = [cls.__name__ for cls in OURS]  # module_db's entries for these: each must be there (`_infos`)
DTYPES = (torch.float32, torch.float64)

@functools.lru_cache(None)
def _infos() -> dict:
    """module_db's `ModuleInfo` of each of our classes, by name (imported at the first test that needs it: torch's
    test helpers take seconds to import, which every test process would pay to collect this file)."""
    try:
        import expecttest  # noqa: F401  (torch's test helpers import it)
    except ImportError:  # stand in for it: torch's helpers only need its TestCase
        sys.modules['expecttest'] = types.SimpleNamespace(TestCase=unittest.TestCase)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        from torch.testing._internal.common_modules import module_db
    infos = {info.module_cls.__name__: info for info in module_db if info.module_cls in OURS}
    assert sorted(infos) == sorted(NAMES), f'module_db has entries for {sorted(infos)}, expected {sorted(NAMES)}'
    return infos


def _flat(result):
    "(output, state) -> a list of tensors: the output (a PackedSequence's data), then h_n (and c_n)."
    out, last = result
    return [out.data if isinstance(out, PackedSequence) else out, *(last if isinstance(last, tuple) else (last,))]


def _leaves(args):
    "The tensors of forward arguments that gradients are asked for: inputs (a PackedSequence's data) and states."
    found = []
    for a in args:
        if isinstance(a, PackedSequence): a = a.data
        for t in (a if isinstance(a, tuple) else (a,)):
            if isinstance(t, torch.Tensor) and t.requires_grad: found.append(t)
    return found


def _run(model, args, seed=0):
    "Outputs of model(*args), and the gradients of a random weighted sum of them (inputs, states, parameters)."
    outs = _flat(model(*args))
    g = torch.Generator().manual_seed(seed)
    loss = sum((o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum() for o in outs)
    return outs, torch.autograd.grad(loss, _leaves(args) + list(model.parameters()))


def _pair(torch_cls, args=(), kwargs=None, dtype=torch.float32):
    "torch's module and ours, built with the same arguments, ours holding torch's weights."
    kwargs = kwargs or {}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        theirs, ours = torch_cls(*args, **kwargs).to(dtype), OURS[torch_cls](*args, **kwargs).to(dtype)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
    ours.load_state_dict(theirs.state_dict())
    return theirs, ours


def _compare(theirs, ours, args, **tolerances):
    "Assert the same outputs and gradients; return how many tensors were compared."
    (t_out, t_grads), (o_out, o_grads) = _run(theirs, args), _run(ours, args)
    assert len(t_out) == len(o_out) and len(t_grads) == len(o_grads)
    for a, b in zip(t_out + list(t_grads), o_out + list(o_grads)): torch.testing.assert_close(b, a, **tolerances)
    return len(t_out) + len(t_grads)


@pytest.mark.parametrize('training', (True, False), ids=('train', 'eval'))
@pytest.mark.parametrize('dtype', DTYPES, ids=('float32', 'float64'))
@pytest.mark.parametrize('name', NAMES)
def test_module_info_samples(name, dtype, training):
    info = _infos()[name]
    torch.manual_seed(0)
    samples = info.module_inputs_func(info, device='cpu', dtype=dtype, requires_grad=True, training=training,
                                      with_packed_sequence=True)
    assert len(samples) == {'RNN': 64, 'GRU': 32, 'LSTM': 32}[name]
    for sample in samples:
        theirs, ours = _pair(info.module_cls, sample.constructor_input.args, sample.constructor_input.kwargs, dtype)
        theirs.train(training); ours.train(training)
        _compare(theirs, ours, sample.forward_input.args)


@pytest.mark.parametrize('dtype', DTYPES, ids=('float32', 'float64'))
@pytest.mark.parametrize('name', NAMES)
def test_module_info_errors(name, dtype):
    info = _infos()[name]  # first: it stands in for expecttest where that is missing, before torch's helpers import it
    from torch.testing._internal.common_modules import ModuleErrorEnum
    errors = info.module_error_inputs_func(info, device='cpu', dtype=dtype, requires_grad=False, training=True)
    assert len(errors) == 14
    for error in errors:
        args, kwargs = error.module_error_input.constructor_input.args, error.module_error_input.constructor_input.kwargs
        with pytest.raises(error.error_type) as caught:
            model = OURS[info.module_cls](*args, **kwargs)
            assert error.error_on == ModuleErrorEnum.FORWARD_ERROR, 'built what torch refuses to build'
            model(*error.module_error_input.forward_input.args)
        message = str(caught.value)
        argument = 'input' if error.error_on == ModuleErrorEnum.FORWARD_ERROR else error.error_regex.split()[0]
        assert message.startswith(f'{argument}: expected') and 'got' in message, message


# ---- beyond the samples: batched and larger shapes, ragged batches, dropout, double backward, the rest ----

CONFIGS = [(nn.RNN, dict(nonlinearity='relu')), (nn.RNN, {}), (nn.GRU, {}), (nn.LSTM, {}), (nn.LSTM, dict(proj_size=3))]


@pytest.mark.parametrize('bidirectional', (False, True))
@pytest.mark.parametrize('torch_cls, extra', CONFIGS, ids=('rnn-relu', 'rnn', 'gru', 'lstm', 'lstm-proj'))
def test_batched_and_packed(torch_cls, extra, bidirectional):
    torch.manual_seed(1)
    for batch_first, dtype in zip((False, True), DTYPES):
        kwargs = dict(num_layers=2, batch_first=batch_first, bidirectional=bidirectional, **extra)
        theirs, ours = _pair(torch_cls, (5, 7), kwargs, dtype)
        D, H_h = 2 if bidirectional else 1, extra.get('proj_size', 7)
        x = torch.randn((4, 9, 5) if batch_first else (9, 4, 5), dtype=dtype, requires_grad=True)
        h = torch.randn(2 * D, 4, H_h, dtype=dtype, requires_grad=True)
        hx = (h, torch.randn(2 * D, 4, 7, dtype=dtype, requires_grad=True)) if torch_cls is nn.LSTM else h
        tol = dict(rtol=1e-4, atol=1e-5) if dtype == torch.float32 else {}
        _compare(theirs, ours, (x, hx), **tol)
        lengths = torch.tensor([3, 9, 1, 6])  # unsorted: torch's sorted_indices and unsorted_indices are used
        packed = pack_padded_sequence(x.detach(), lengths, batch_first=batch_first, enforce_sorted=False)
        packed = PackedSequence(packed.data.requires_grad_(), *packed[1:])
        _compare(theirs, ours, (packed, hx), **tol)
        _compare(theirs, ours, (packed,), **tol)


def test_compiled_lstm_packed_and_larger():
    "The LSTM's fast paths (compiled, fused with every cell) on the benchmark's size, padded and packed."
    torch.manual_seed(2)
    theirs, ours = _pair(nn.LSTM, (28, 64), dict(num_layers=2, bidirectional=True))
    x = torch.randn(32, 8, 28, requires_grad=True)
    tol = dict(rtol=1e-4, atol=1e-5)
    _compare(theirs, ours, (x,), **tol)
    packed = pack_padded_sequence(x.detach(), torch.linspace(1, 32, 8).long().flip(0))
    _compare(theirs, ours, (PackedSequence(packed.data.requires_grad_(), packed.batch_sizes),), **tol)


@pytest.mark.parametrize('torch_cls', (nn.RNN, nn.GRU, nn.LSTM))
def test_dropout(torch_cls):
    "Eval: no dropout, torch's results. Training: each lower layer's output zeroed with probability p, the rest scaled."
    torch.manual_seed(3)
    theirs, ours = _pair(torch_cls, (3, 16), dict(num_layers=2, dropout=0.4), torch.float64)
    x = torch.randn(5, 400, 3, dtype=torch.float64, requires_grad=True)
    theirs.eval(); ours.eval()
    _compare(theirs, ours, (x,))
    theirs.train(); ours.train()
    seen, layer = {}, ours._layer
    ours._layer = lambda x, state, k, *args: (seen.setdefault(k, x), layer(x, state, k, *args))[1]
    with torch.no_grad():
        zeros = x.new_zeros(400, 16)
        below = layer(x, (zeros, zeros) if torch_cls is nn.LSTM else zeros, 0)[0]
        torch.manual_seed(0); out_ours = ours(x)[0]
        torch.manual_seed(0); out_theirs = theirs(x)[0]
        out_eval = theirs.eval()(x)[0]
    kept = seen[1] != 0
    assert abs((1 - kept.double().mean().item()) - 0.4) < 0.01
    torch.testing.assert_close(seen[1][kept], below[kept] / 0.6)
    # the outputs differ from eval mode alike: the mean and spread of the change agree with torch's
    ours_change, theirs_change = (out_ours - out_eval).abs(), (out_theirs - out_eval).abs()
    assert ours_change.mean() > 0.005 and theirs_change.mean() > 0.005
    assert abs(ours_change.mean() / theirs_change.mean() - 1) < 0.1
    assert abs(ours_change.std() / theirs_change.std() - 1) < 0.1


@pytest.mark.parametrize('bidirectional', (False, True))
@pytest.mark.parametrize('cls, extra', [(ScratchRNN, {}), (ScratchGRU, {}), (ScratchLSTM, {}), (ScratchLSTM, dict(proj_size=1))],
                         ids=('rnn', 'gru', 'lstm', 'lstm-proj'))
def test_gradcheck_and_gradgradcheck(cls, extra, bidirectional):
    "First and second derivatives against finite differences (float64), through every path: padded and packed."
    torch.manual_seed(4)
    model = cls(2, 2, num_layers=2, bidirectional=bidirectional, dtype=torch.float64, **extra)
    names, params = zip(*model.named_parameters())
    x = torch.randn(3, 2, 2, dtype=torch.float64, requires_grad=True)
    packed = pack_padded_sequence(x.detach(), [3, 1], enforce_sorted=False)

    def f(x, *weights):  # the module as a function of its input and weights: outputs, last states
        input = PackedSequence(x, *packed[1:]) if x.dim() == 2 else x
        return tuple(_flat(torch.func.functional_call(model, dict(zip(names, weights)), (input,))))

    weights = tuple(p.detach().requires_grad_() for p in params)
    for args in ((x, *weights), (packed.data.requires_grad_(), *weights)):
        assert torch.autograd.gradcheck(f, args, fast_mode=True)
        assert torch.autograd.gradgradcheck(f, args, fast_mode=True)
    assert torch.autograd.gradgradcheck(lambda x: f(x, *weights), (x,))  # and in full, for the input


@pytest.mark.parametrize('torch_cls', (nn.RNN, nn.GRU, nn.LSTM))
def test_empty_batch(torch_cls):
    theirs, ours = _pair(torch_cls, (3, 4), dict(num_layers=2, bidirectional=True))
    x = torch.randn(5, 0, 3, requires_grad=True)
    _compare(theirs, ours, (x,))
    assert [o.shape for o in _flat(ours(x))] == [o.shape for o in _flat(theirs(x))]


@pytest.mark.parametrize('torch_cls', (nn.RNN, nn.GRU, nn.LSTM))
def test_module_plumbing(torch_cls):
    "torch.save and deepcopy, non-contiguous input, no_grad and inference_mode, meta construction, torch's attributes."
    theirs, ours = _pair(torch_cls, (3, 4), dict(num_layers=2, bidirectional=True, dropout=0.1))
    ours.eval(); theirs.eval()
    x = torch.randn(6, 5, 3).transpose(0, 1)  # (5, 6, 3), not contiguous
    assert not x.is_contiguous()
    expected = _flat(theirs(x))
    buffer = io.BytesIO(); torch.save(ours, buffer); buffer.seek(0)
    for model in (ours, copy.deepcopy(ours), torch.load(buffer, weights_only=False)):
        for a, b in zip(_flat(model(x)), expected): torch.testing.assert_close(a, b)
    for context in (torch.no_grad, torch.inference_mode):
        with context(): outs = _flat(ours(x))
        assert not any(o.requires_grad for o in outs)
        for a, b in zip(outs, expected): torch.testing.assert_close(a, b.detach())
    meta = OURS[torch_cls](3, 4, num_layers=2, bidirectional=True, device='meta', dtype=torch.float64)
    assert {(p.device.type, p.dtype) for p in meta.parameters()} == {('meta', torch.float64)}
    for name in ('mode', 'input_size', 'hidden_size', 'num_layers', 'bias', 'batch_first', 'dropout', 'bidirectional',
                 'proj_size', '_flat_weights_names', '_all_weights'):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert [[p.shape for p in ps] for ps in ours.all_weights] == [[p.shape for p in ps] for ps in theirs.all_weights]
    assert [p.shape for p in ours._flat_weights] == [p.shape for p in theirs._flat_weights]
    assert ours.extra_repr() == theirs.extra_repr()
    ours.flatten_parameters()
    theirs.load_state_dict(ours.state_dict())  # both ways
