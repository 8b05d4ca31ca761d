"""Int8 copies of a frozen prefix, for a faster one-time feature pass on a CPU.

Feature caching runs the frozen layers exactly once, so that one pass is most of what a
transfer-learning run costs. On a CPU, int8 arithmetic does four multiply-adds where fp32
does one (AVX512-VNNI and AMX on recent x86): post-training static quantization turns the
frozen prefix into an int8 copy whose output is close to, but not the same as, fp32's.

The recipe is PyTorch 2 Export quantization (torchao's PT2E flow, which replaces the
deprecated ``torch.ao.quantization`` FX API), unchanged: ``torch.export`` captures the prefix
as a graph, ``prepare_pt2e`` inserts observers where ``X86InductorQuantizer`` wants int8,
a few calibration images set each tensor's int8 range, ``convert_pt2e`` writes the rounding
into the graph, and ``torch.compile`` (Inductor, weights frozen) turns each quantized
convolution into one oneDNN int8 kernel (linear layers stay fp32). That compile is the price
of the speed: it needs a C++ compiler, runs once per copy inside ``int8_copy``, and
Inductor's on-disk cache makes a repeat cheaper. The original model is never modified, and
training never runs in int8 -- only the cached features are computed this way, so the
trainable head still learns in full precision. Two log records that torch writes on the way,
known and harmless, are dropped inside these calls and nowhere else
(``benign_torch_logs_silenced``), so a notebook shows no warning text for them.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Iterable, Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

from vgg_course import devices

CALIBRATION_IMAGES = 8  # enough to set activation ranges (histogram observers); ~2 s on VGG16
CHUNK = 16  # images per call of the compiled int8 graph

# Log records torch writes on the way to an int8 copy that say nothing about it: (logger,
# start of the message, text its arguments must hold). Importing torchao 0.18 registers its
# ``KernelPreference`` enum as a pytree constant, which torch 2.14 calls deprecated; Inductor
# looks for CUDA's headers on a machine without CUDA. Both are torch's own and harmless here.
BENIGN_TORCH_LOGS = (
    ("torch.utils._pytree", "%s is an Enum subclass and is now natively supported", "KernelPreference"),
    ("torch.utils.cpp_extension", "No CUDA runtime is found", ""),
)


class _DropBenign(logging.Filter):
    """Drops the one known record of a logger (``BENIGN_TORCH_LOGS``); passes every other."""

    def __init__(self, message: str, argument: str) -> None:
        super().__init__()
        self.message, self.argument = message, argument

    def filter(self, record: logging.LogRecord) -> bool:
        known = (str(record.msg).startswith(self.message)
                 and self.argument in " ".join(map(str, record.args or ())))
        return not known


@contextlib.contextmanager
def benign_torch_logs_silenced() -> Iterator[None]:
    """Inside: exactly the records of ``BENIGN_TORCH_LOGS`` are dropped; afterwards none are.

    Only those loggers get a filter, and only for the duration: any other record of torch
    (and any other record of those loggers) still reaches stderr.

    Example:
        >>> log = logging.getLogger("torch.utils.cpp_extension")
        >>> with benign_torch_logs_silenced():
        ...     log.filters[-1].filter(logging.makeLogRecord({"msg": "No CUDA runtime is found"}))
        False
        >>> log.filters
        []
    """
    added = [(logging.getLogger(name), _DropBenign(message, argument))
             for name, message, argument in BENIGN_TORCH_LOGS]
    for logger, drop in added:
        logger.addFilter(drop)
    try:
        yield
    finally:
        for logger, drop in added:
            logger.removeFilter(drop)


def calibration_batch(loader: Iterable, n: int = CALIBRATION_IMAGES) -> torch.Tensor:
    """``n`` images spread evenly over the loader's dataset (every class, not the first one).

    Falls back to the first batches of a plain list of ``(images, labels)`` batches.

    Example:
        >>> data = torch.utils.data.TensorDataset(torch.arange(40.).view(40, 1), torch.zeros(40))
        >>> calibration_batch(DataLoader(data, batch_size=4), n=4).flatten().tolist()
        [0.0, 13.0, 26.0, 39.0]
    """
    dataset = getattr(loader, "dataset", None)
    if isinstance(loader, DataLoader) and loader.batch_size is not None and len(dataset) > 0:
        picks = torch.linspace(0, len(dataset) - 1, min(n, len(dataset))).round().long().tolist()
        spread = DataLoader(Subset(dataset, picks), batch_size=len(picks),
                            collate_fn=loader.collate_fn)
        return next(iter(spread))[0]
    images = []
    for x, _ in loader:
        images.append(torch.as_tensor(x))
        if sum(len(b) for b in images) >= n:
            break
    if not images:
        raise ValueError("The loader yielded no batches: nothing to calibrate int8 on.")
    return torch.cat(images)[:n]


class Int8Copy(nn.Module):
    """A quantized graph compiled into int8 kernels; fp32 in, fp32 out, inference only."""

    def __init__(self, graph: nn.Module) -> None:
        super().__init__()
        self.training = False
        self.compiled = torch.compile(graph, dynamic=False)

    def train(self, mode: bool = True) -> Int8Copy:
        """Stays in eval mode: ``eval()`` does nothing, ``train()`` is an error."""
        if mode:
            raise RuntimeError("An int8 copy only runs inference: train the fp32 model instead.")
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import torch._inductor.config  # seconds to import: only where int8 is used

        # Freezing turns the int8 weights into prepacked oneDNN constants. torch.compile's
        # options= would not reach Dynamo, which reads this setting whenever it (re)traces.
        with (torch.inference_mode(), torch._inductor.config.patch(freezing=True),
              benign_torch_logs_silenced()):
            outputs = []
            # (N, ...) -> chunks of CHUNK images, the last one padded with zeros: one input
            # shape, so one compile serves every batch size (images never mix in a chunk)
            for chunk in x.split(CHUNK):
                padding = chunk.new_zeros(CHUNK - len(chunk), *chunk.shape[1:])
                outputs.append(self.compiled(torch.cat([chunk, padding]))[:len(chunk)])
            return torch.cat(outputs)


def _floor_ceil_mode_pools(model: nn.Module, example: torch.Tensor) -> list[str]:
    """Replace each ``MaxPool2d(ceil_mode=True)`` by zero padding and a floor-mode pool, in place.

    torch 2.14's int8 max-pool kernel ignores ``ceil_mode`` (SqueezeNet's 227 px features come
    out 13x13 instead of 14x14). Padding the right and bottom edges so that floor mode makes the
    extra window gives the same output wherever the pool's input is never negative (after a
    ReLU, as in SqueezeNet): a zero then never wins a max. Checked on ``example``. Returns the
    new pools' names (they run in fp32: their input, the padding's output, is not int8).
    """
    seen: dict[str, tuple[tuple[int, ...], float]] = {}
    pools = {name: layer for name, layer in model.named_modules()
             if isinstance(layer, nn.MaxPool2d) and layer.ceil_mode}
    if not pools:
        return []
    hooks = [layer.register_forward_hook(
        lambda mod, args, out, name=name: seen.__setitem__(name, (tuple(args[0].shape), float(args[0].min()))))
        for name, layer in pools.items()]
    with torch.no_grad():
        reference = model(example)
    for hook in hooks:
        hook.remove()
    for name, pool in pools.items():
        shape, lowest = seen[name]
        k, s = nn.modules.utils._pair(pool.kernel_size), nn.modules.utils._pair(pool.stride)
        if lowest < 0 or pool.padding not in (0, (0, 0)) or pool.dilation not in (1, (1, 1)):
            raise ValueError(f"{name}: a ceil_mode max-pool that is not after a ReLU (or is padded "
                             "or dilated) has no int8 equivalent here: use precision='auto'.")
        extra = []
        for size, kernel, stride in zip(shape[-2:], k, s):
            out = -(-(size - kernel) // stride) + 1  # ceil mode
            if (out - 1) * stride >= size:  # the last window must start inside the input
                out -= 1
            extra.append(max(0, (out - 1) * stride + kernel - size))
        floor = nn.Sequential(nn.ZeroPad2d((0, extra[1], 0, extra[0])),
                              nn.MaxPool2d(k, s, ceil_mode=False))
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, child, floor)
    with torch.no_grad():
        if not torch.equal(model(example), reference):
            raise RuntimeError("Replacing the ceil_mode max-pools changed the output.")
    return [f"{name}.1" for name in pools]


def int8_copy(prefix: nn.Module, calibration: torch.Tensor) -> nn.Module:
    """An int8 copy of the frozen ``prefix``, calibrated on ``calibration`` images (CPU).

    Takes and returns fp32 tensors of any batch size (run ``CHUNK`` images at a time) and runs
    in inference mode. Building it includes compiling it, a one-time cost: about half a minute
    for VGG16's features on two busy cores the first time, seconds for a tiny model. It pays
    off on a long pass (VGG16 over hundreds of photos), not on a few images.

    Raises:
        RuntimeError: this machine has no int8 backend (``vc.devices.int8_engine()`` is ``None``).
        ValueError: ``prefix`` has trainable parameters (only frozen layers are quantized).

    Example:
        >>> prefix = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()).eval().requires_grad_(False)
        >>> x = torch.randn(4, 3, 16, 16)
        >>> quantized = int8_copy(prefix, x)
        >>> quantized(x).shape == prefix(x).shape, quantized(x).dtype
        (True, torch.float32)
    """
    if devices.int8_engine() is None:
        raise RuntimeError("This machine has no int8 backend (an x86-64 CPU, PyTorch with oneDNN "
                           "and a C++ compiler for torch.compile): use precision='auto'.")
    trainable = [n for n, p in prefix.named_parameters() if p.requires_grad]
    if trainable:
        raise ValueError(f"Only frozen layers are quantized; {trainable[0]} is trainable.")
    # imported here: torchao takes a second or two, and only int8 needs it
    with benign_torch_logs_silenced():
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
        from torchao.quantization.pt2e.quantizer.x86_inductor_quantizer import (
            X86InductorQuantizer,
            get_default_x86_inductor_quantization_config,
        )

    model = copy.deepcopy(prefix).cpu().eval()
    calibration = calibration.detach().float().cpu()
    fp32_pools = _floor_ceil_mode_pools(model, calibration[:2])
    # export would fix the batch size at 1 if shown a single image: show it two
    example = calibration if len(calibration) > 1 else calibration.expand(2, *calibration.shape[1:])
    graph = torch.export.export(model, (example,),
                                dynamic_shapes=({0: torch.export.Dim.AUTO},)).module()
    # Convolutions only: they do ~99% of VGG16's multiply-adds, and torch 2.14 warns from inside
    # its compiler on int8 linear layers (mkldnn_lowerings.py), so nn.Linear stays fp32.
    quantizer = (X86InductorQuantizer().set_global(get_default_x86_inductor_quantization_config())
                 .set_module_type_qconfig(nn.Linear, None))
    for name in fp32_pools:
        quantizer.set_module_name_qconfig(name, None)
    observed = prepare_pt2e(graph, quantizer)
    with torch.no_grad():
        observed(calibration)
    quantized = Int8Copy(convert_pt2e(observed))
    quantized(example)  # compile now, so that the one-time cost is paid here
    return quantized
