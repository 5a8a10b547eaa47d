__version__ = "0.1.0"

# The package's public names, re-exported lazily: `from rnn_lit import ScratchRNN` works, and
# `import rnn_lit` stays cheap (a chapter's module, and torch, load on first use).
# This file is the one module not generated from a notebook: nbdev_export only updates the version above.
_exports = {
    'set_seed': 'core', 'get_device': 'core', 'layer_weights': 'core', 'check_sequence': 'core', 'check_state': 'core', 'autocast_dtype': 'core',
    'ScratchRNNBase': 'modules', 'ScratchRNN': 'forward', 'rnn_step': 'forward', 'activation': 'forward',
    'sequence_loss': 'loss',
    'manual_bptt': 'bptt',
    'jacobian_norms': 'gradients',
    'ScratchLSTM': 'gated', 'ScratchGRU': 'gated', 'adding_problem': 'gated', 'lstm_backend': 'compiled',
    'make_blank_task': 'memory', 'RNNClassifier': 'memory', 'fit_classifier': 'memory',
    'Model': 'model', 'predict': 'model',
    'fit': 'train', 'train_steps': 'train', 'evaluate': 'train',
    'LanguageModel': 'lm', 'Vocab': 'lm', 'sample': 'lm', 'save_checkpoint': 'cli', 'load_checkpoint': 'cli',
    'save': 'lm', 'load': 'lm',  # old names: they warn and hand out save_checkpoint / load_checkpoint
}

def __getattr__(name):
    if name in _exports:
        import importlib
        return getattr(importlib.import_module(f'{__name__}.{_exports[name]}'), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

def __dir__(): return sorted(list(globals()) + list(_exports))

__all__ = list(_exports)
