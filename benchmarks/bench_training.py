"""Training-speed benchmark: the PyTorch-tutorial loop (B0) against the kit's engine.

One command, one process, the same photos, model and recipe for every variant:

  B0          the tutorial's loop: fp32, NCHW, batch 4, frozen VGG16 recomputed every epoch
  TL graph    transfer learning with vc.engine.fit: frozen layers in the graph, fast precision
  TL cached   the same after vc.features.cache: frozen layers run once, then the head trains
  partial FT  block 5 + classifier trained (a few steps, then extrapolated)
  full FT     everything trained (a few steps, then extrapolated)
  TL cached int8  (CPU) TL cached, its one pass run by an int8 copy of the frozen layers

plus the one feature-extraction pass, fp32 NCHW against the fast precision and, on a CPU,
against int8 (its calibration counted in its time).
Times marked "*" are extrapolated from the epochs or steps actually measured (the table
says how many); everything else is measured end to end.

    python benchmarks/bench_training.py                 # CPU, 224 px, about 5-10 min on 2 cores
    python benchmarks/bench_training.py --quick         # tiny model and data: a smoke test
    python benchmarks/bench_training.py --device cuda   # GPU: bf16, channels_last, batch 128

VGG16 gets practice (random) weights unless --pretrained: accuracy then compares variants
on the same features, not the pretrained model's real accuracy.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, Subset, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

import vgg_course as vc

ROOT = Path(__file__).resolve().parents[1]


# --- B0: the tutorial's loop, written out as the tutorial does ---------------------------

def tutorial_train(model, loaders, criterion, optimizer, scheduler, num_epochs, device):
    """``train_model`` from the PyTorch transfer-learning tutorial (best weights kept in memory)."""
    best_acc, best_state, accs = 0.0, copy.deepcopy(model.state_dict()), []
    generator = loaders["train"].generator
    loader_seed = generator.initial_seed()
    for epoch in range(1, num_epochs + 1):
        # Not in the tutorial: the seeds fit() uses, so B0 sees the kit's batches and
        # dropout masks and the accuracies compare like for like. It costs nothing.
        vc.engine.seed_epoch(0, epoch, generator, loader_seed)
        for phase in ["train", "val"]:
            model.train() if phase == "train" else model.eval()
            running_corrects, n = 0, 0
            for inputs, labels in loaders[phase]:
                inputs, labels = inputs.to(device), labels.to(device)
                optimizer.zero_grad()
                with torch.set_grad_enabled(phase == "train"):
                    outputs = model(inputs)
                    _, preds = torch.max(outputs, 1)
                    loss = criterion(outputs, labels)
                    if phase == "train":
                        loss.backward()
                        optimizer.step()
                running_corrects += torch.sum(preds == labels.data).item()
                n += inputs.size(0)
            if phase == "train":
                scheduler.step()
            else:
                accs.append(running_corrects / n)
                if accs[-1] > best_acc:
                    best_acc, best_state = accs[-1], copy.deepcopy(model.state_dict())
    return accs


# --- set-up --------------------------------------------------------------------------------

def build_model(args, trainable: str) -> nn.Module:
    """VGG16 (or tiny_vgg with --quick) with a 2-class head; ``trainable`` picks what trains."""
    if args.quick:
        model = vc.models.tiny_vgg(2)
        head_in = model.classifier[6].in_features
    else:
        model = vc.models.load_vgg16(practice=not args.pretrained, progress=False)
        head_in = 4096
    model.requires_grad_(False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        model.classifier[6] = nn.Linear(head_in, 2)  # the same head for every variant
    if trainable == "partial":
        model.features[24:].requires_grad_(True)  # block 5
        model.classifier.requires_grad_(True)
    elif trainable == "full":
        model.requires_grad_(True)
    return model


def datasets(args):
    if args.quick:
        g = torch.Generator().manual_seed(0)
        y = torch.arange(48) % 2
        x = torch.randn(48, 3, args.size, args.size, generator=g) + y.view(-1, 1, 1, 1) * 0.3
        return TensorDataset(x[:32], y[:32]), TensorDataset(x[32:], y[32:])
    from torchvision.models import VGG16_Weights
    transform = vc.data.eval_transform(VGG16_Weights.IMAGENET1K_V1, image_size=args.size)
    root = vc.datasets.hymenoptera(download=False)
    return vc.data.image_folders(root, train_transform=transform, val_transform=transform)


def on_device(ds, device: torch.device, batch: int, seed: int):
    """Decode every image once and keep the tensors on the GPU: batches are index gathers."""
    xs, ys = zip(*(ds[i] for i in range(len(ds))))
    data = TensorDataset(torch.stack(xs).to(device), torch.tensor(ys, device=device))
    sampler = BatchSampler(RandomSampler(data, generator=torch.Generator().manual_seed(seed)),
                           batch, drop_last=False)
    return data, sampler


def loaders(args, train_ds, val_ds, batch: int, device: torch.device):
    if device.type == "cuda" and not args.quick:
        train, sampler = on_device(train_ds, device, batch, seed=0)
        val, _ = on_device(val_ds, device, batch, seed=0)
        ordered = BatchSampler(range(len(val)), batch, drop_last=False)
        return (DataLoader(train, sampler=sampler, batch_size=None),
                DataLoader(val, sampler=ordered, batch_size=None))
    return vc.data.make_loaders(train_ds, val_ds, batch_size=batch, device=device, seed=0)


def sgd(model):
    """The tutorial's recipe: SGD(lr=0.001, momentum=0.9), StepLR(step 7, x0.1)."""
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.001,
                          momentum=0.9)
    return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.1)


def forward_flops(model, size: int, device) -> float:
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(torch.zeros(1, 3, size, size, device=device))
    return float(counter.get_total_flops())


def matmul_peak(device: torch.device, dtype) -> float:
    """Measured TFLOP/s of a large square matmul (best of several): the practical ceiling."""
    n = 8192 if device.type == "cuda" else 2048
    a = torch.randn(n, n, device=device, dtype=dtype or torch.float32)
    b = torch.randn(n, n, device=device, dtype=dtype or torch.float32)
    best = float("inf")
    for _ in range(10 if device.type == "cuda" else 5):
        sync(device)
        start = time.perf_counter()
        for _ in range(10 if device.type == "cuda" else 1):
            a @ b
        sync(device)
        best = min(best, (time.perf_counter() - start) / (10 if device.type == "cuda" else 1))
    return 2 * n**3 / best / 1e12


def int8_peak(device: torch.device) -> float | None:
    """Measured TOP/s of a 2048^3 int8 matmul (``torch._int_mm``, best of 5), CPU only."""
    if device.type != "cpu" or not hasattr(torch, "_int_mm"):
        return None
    a = torch.randint(-128, 127, (2048, 2048), dtype=torch.int8)
    b = torch.randint(-128, 127, (2048, 2048), dtype=torch.int8)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        torch._int_mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * 2048**3 / best / 1e12


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --- measurements ------------------------------------------------------------------------

def run_b0(args, train_ds, val_ds, device):
    model = build_model(args, "head").to(device)
    opt, sched = sgd(model)
    train, val = vc.data.make_loaders(train_ds, val_ds, batch_size=4, device="cpu", seed=0)
    data = {"train": train, "val": val}  # decoded every epoch, as in the tutorial
    peak = vc.memory.PeakMemory(device)
    start = time.perf_counter()
    accs = tutorial_train(model, data, nn.CrossEntropyLoss(), opt, sched, args.b0_epochs, device)
    sync(device)
    seconds = time.perf_counter() - start
    per_epoch = seconds / args.b0_epochs
    images = len(train_ds) + len(val_ds)
    return {"variant": "B0 tutorial loop", "precision": "fp32", "batch": 4,
            "measured": f"{args.b0_epochs} of {args.epochs} epochs",
            "images_per_s": images / per_epoch, "seconds": per_epoch * args.epochs,
            "extrapolated": args.b0_epochs < args.epochs, "val_accuracy": accs[-1],
            "accuracy_epoch": args.b0_epochs, "accuracies": accs, "peak_mb": mb(peak.read())}


def run_fit(args, train_ds, val_ds, device, *, name, cached, epochs, batch, cache_precision=None):
    """The kit's loop, timed end to end: loaders, the caching pass (when ``cached``), epochs."""
    model = build_model(args, "head")
    opt, sched = sgd(model)
    start = time.perf_counter()
    train, val = loaders(args, train_ds, val_ds, batch, device)  # on CUDA: decoded once
    net, breakdown = model, {"loaders": time.perf_counter() - start}
    peak = vc.memory.PeakMemory(device)
    chosen = vc.devices.plan(device, cache_precision or "auto")  # "int8": the cached pass only
    if cached:
        cache = vc.features.cache(model, train, val, plan=chosen, progress=args.progress)
        net, train, val = cache.head, cache.train, cache.val
        breakdown.update(cache.timings)
        breakdown["caching other"] = cache.seconds - sum(cache.timings.values())
    history = vc.engine.fit(net, train, val, opt, epochs=epochs, plan=chosen,
                            scheduler=sched, progress=args.progress)
    last = history.records[-1]
    epoch_s = sum(r.seconds for r in history.records) / len(history.records)
    breakdown["head epochs" if cached else "epochs"] = epoch_s * args.epochs
    total = sum(breakdown.values())
    images = len(train_ds) + len(val_ds)
    caching = f" + {cache_precision or 'caching'} pass" if cached else ""
    return {"variant": name, "precision": history.precision, "batch": batch,
            "measured": f"{epochs} of {args.epochs} epochs{caching}",
            "images_per_s": images * args.epochs / total, "seconds": total,
            "extrapolated": epochs < args.epochs, "val_accuracy": last.val_accuracy,
            "accuracy_epoch": last.epoch, "accuracies": [r.val_accuracy for r in history.records],
            "peak_mb": mb(peak.read()), "breakdown": breakdown,
            "epoch_seconds": [r.seconds for r in history.records], "notes": history.notes,
            "cache": str(cache) if cached else None}


def run_ft(args, train_ds, val_ds, device, *, name, trainable, batch, flops):
    """Fine-tuning: time ``--ft-steps`` training steps and a validation pass of as many batches."""
    model = build_model(args, trainable)
    opt, _ = sgd(model)
    steps = args.ft_steps
    n = min(len(train_ds), steps * batch)
    train, val = loaders(args, Subset(train_ds, range(n)), Subset(val_ds, range(min(n, len(val_ds)))),
                         batch, device)
    chosen = vc.devices.plan(device)
    vc.engine.train_one_epoch(model, [next(iter(train))], opt, plan=chosen)  # warm-up
    peak = vc.memory.PeakMemory(device)
    start = time.perf_counter()
    result = vc.engine.train_one_epoch(model, train, opt, plan=chosen)
    sync(device)
    train_ips = result.n / (time.perf_counter() - start)
    start = time.perf_counter()
    checked = vc.engine.evaluate(model, val, plan=chosen)
    sync(device)
    val_ips = checked.n / (time.perf_counter() - start)
    epoch_s = len(train_ds) / train_ips + len(val_ds) / val_ips
    return {"variant": name, "precision": chosen.precision, "batch": batch,
            "measured": f"{steps} steps", "images_per_s": train_ips,
            "seconds": epoch_s * args.epochs, "extrapolated": True, "val_accuracy": None,
            "accuracy_epoch": None, "peak_mb": mb(peak.read()),
            "train_tflops": train_ips * 3 * flops / 1e12}  # backward ~ 2x forward


def run_extraction(args, train_ds, device):
    """The caching pass over the same images: fp32 NCHW, the fast precision and (on a CPU)
    int8 with its calibration counted; interleaved, best of ``--extract-rounds``."""
    model = build_model(args, "head").to(device).eval()
    prefix = nn.Sequential(model.features, model.avgpool)
    n = min(len(train_ds), args.extract_images or len(train_ds))
    data = DataLoader(Subset(train_ds, range(n)), batch_size=args.extract_batch)
    batches = [x for x, _ in data]
    copies = {"fp32": (prefix, "fp32"), "fast": (copy.deepcopy(prefix), "auto")}
    if device.type == "cpu" and vc.devices.int8_engine():
        copies["int8"] = (prefix, "int8")
    # the int8 copy takes fp32 NCHW, as vc.features.cache(precision="int8") runs it
    plans = {"fp32": vc.devices.plan(device, "fp32"), "fast": vc.devices.plan(device, "auto"),
             "int8": vc.devices.plan(device, "fp32")}
    times = {key: [] for key in copies}
    calibration = []
    for _ in range(args.extract_rounds):
        for key, (module, precision) in copies.items():
            chosen = plans[key]
            start = time.perf_counter()
            if precision == "int8":  # what vc.features.cache(precision="int8") does
                run = vc.features.quantize.int8_copy(module, vc.features.quantize.calibration_batch(data))
                calibration.append(time.perf_counter() - start)
            else:
                run = vc.devices.prepare(module, chosen)
            with vc.devices.applied(chosen), torch.inference_mode():
                if precision != "int8":
                    run(vc.devices.to_device(batches[0][:1], chosen))  # warm-up
                    start = time.perf_counter()
                for x in batches:
                    with chosen.autocast():
                        run(vc.devices.to_device(x, chosen))
                sync(device)
            times[key].append(time.perf_counter() - start)
    best = {key: min(t) for key, t in times.items()}
    result = {"images": n, "batch": args.extract_batch, "rounds": args.extract_rounds,
              "fp32_images_per_s": n / best["fp32"], "fast_images_per_s": n / best["fast"],
              "fast_precision": plans["fast"].precision,
              "speedup": best["fp32"] / best["fast"], "plan": repr(plans["fast"])}
    if "int8" in best:
        result.update(int8_images_per_s=n / best["int8"], int8_speedup=best["fp32"] / best["int8"],
                      int8_calibration_s=min(calibration), int8_engine=vc.devices.int8_engine())
    return result


def extraction_line(e) -> str:
    line = (f"feature extraction ({e['images']} images, batch {e['batch']}, best of "
            f"{e['rounds']}): fp32 NCHW {e['fp32_images_per_s']:.1f} img/s, {e['fast_precision']} "
            f"{e['fast_images_per_s']:.1f} img/s -> {e['speedup']:.2f}x")
    if "int8_speedup" in e:
        line += (f"; int8 ({e['int8_engine']}, incl. {e['int8_calibration_s']:.1f} s calibration) "
                 f"{e['int8_images_per_s']:.1f} img/s -> {e['int8_speedup']:.2f}x")
    return f"{line}  [{e['plan']}]"


def breakdown_line(row) -> str:
    """Where a TL-cached run's seconds went."""
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in row["breakdown"].items())
    return f"{row['variant']}: {row['seconds']:.1f} s = {parts}"


def bound_line(summary) -> str:
    """The physical bound: the arithmetic of TL cached at this CPU's measured peak rates."""
    e = summary["extraction"]
    gflop = summary["forward_gflops_per_image"]
    images = e["images_total"]
    lines = [f"physical bound: the caching pass is {images} x {gflop:.1f} GFLOP = "
             f"{images * gflop / 1e3:.2f} TFLOP; at the measured matmul peak "
             f"({summary['matmul_peak_tflops']:.2f} TFLOP/s, {e['fast_precision']}) it takes "
             f"{images * gflop / 1e3 / summary['matmul_peak_tflops']:.1f} s"]
    if summary.get("int8_peak_tops"):
        lines.append(f"in int8 ({summary['int8_peak_tops']:.2f} TOP/s measured) "
                     f"{images * gflop / 1e3 / summary['int8_peak_tops']:.1f} s")
    b0 = summary["variants"][0]["seconds"]
    best = images * gflop / 1e3 / max(summary["matmul_peak_tflops"],
                                       summary.get("int8_peak_tops") or 0)
    lines.append(f"so TL cached can be at most {b0 / best:,.0f}x B0 (head epochs not counted)")
    return "; ".join(lines) + "."


def mb(value):
    return None if value is None else value / 2**20


# --- report --------------------------------------------------------------------------------

def table(rows, b0_seconds) -> str:
    head = ["variant", "precision", "batch", "measured", "img/s", "time (s)", "val acc",
            "peak MB", "vs B0"]
    lines = [head]
    for r in rows:
        acc = "-" if r["val_accuracy"] is None else f"{r['val_accuracy']:.1%} @ep{r['accuracy_epoch']}"
        lines.append([r["variant"], r["precision"], str(r["batch"]), r["measured"],
                      f"{r['images_per_s']:,.1f}",
                      f"{r['seconds']:,.1f}{'*' if r['extrapolated'] else ''}", acc,
                      "-" if r["peak_mb"] is None else f"{r['peak_mb']:,.0f}",
                      f"{b0_seconds / r['seconds']:,.1f}x"])
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in lines)


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--quick", action="store_true", help="tiny model, random data: a smoke test")
    p.add_argument("--pretrained", action="store_true", help="ImageNet weights (must be cached)")
    p.add_argument("--size", type=int, default=None, help="image size (default 224; 32 quick)")
    p.add_argument("--epochs", type=int, default=25, help="the training budget (default 25)")
    p.add_argument("--b0-epochs", type=int, default=1, help="B0 epochs to measure (default 1)")
    p.add_argument("--graph-epochs", type=int, default=1, help="TL-graph epochs to measure")
    p.add_argument("--ft-steps", type=int, default=None, help="fine-tuning steps to time")
    p.add_argument("--batch", type=int, default=None, help="kit batch size for fine-tuning "
                   "(default 16 on CPU, 128 on CUDA)")
    p.add_argument("--extract-images", type=int, default=None,
                   help="images in the extraction pass (default: the whole training set)")
    p.add_argument("--extract-batch", type=int, default=32)
    p.add_argument("--extract-rounds", type=int, default=1, help="extraction passes, best kept")
    p.add_argument("--progress", action="store_true", help="show progress bars")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "bench_training.json")
    args = p.parse_args(argv)
    cuda = args.device.startswith("cuda")
    args.size = args.size or (32 if args.quick else 224)
    args.batch = args.batch or (128 if cuda else 16)
    args.ft_steps = args.ft_steps or (20 if cuda else 4)
    if args.quick:
        args.epochs, args.b0_epochs, args.graph_epochs = min(args.epochs, 3), 1, 1
        args.ft_steps, args.batch, args.extract_images = 2, 8, 16
    return args


def main(argv=None) -> int:
    args = parse(argv)
    device = vc.devices.pick_device(args.device)
    train_ds, val_ds = datasets(args)
    load = os.getloadavg()
    # CPU: the tutorial's batch 4, so B0's head and the kit's train the same way; a GPU
    # needs big batches to be busy.
    tl_batch = args.batch if device.type == "cuda" else 4
    flops = forward_flops(build_model(args, "head").to(device).eval(), args.size, device)
    fast = vc.devices.plan(device)  # "auto": the fast precision here
    peak_tflops = matmul_peak(device, fast.dtype)
    extraction = run_extraction(args, train_ds, device)
    extraction["images_total"] = len(train_ds) + len(val_ds)
    print(extraction_line(extraction), flush=True)
    rows = [run_b0(args, train_ds, val_ds, device)]
    print("B0 done", flush=True)
    rows.append(run_fit(args, train_ds, val_ds, device, name="TL graph (kit)", cached=False,
                        epochs=args.graph_epochs, batch=tl_batch))
    rows.append(run_fit(args, train_ds, val_ds, device, name="TL cached (kit)", cached=True,
                        epochs=args.epochs, batch=tl_batch))
    if "int8_speedup" in extraction:
        rows.append(run_fit(args, train_ds, val_ds, device, name="TL cached int8 (kit)",
                            cached=True, epochs=args.epochs, batch=tl_batch, cache_precision="int8"))
    rows.append(run_ft(args, train_ds, val_ds, device, name="partial FT (kit)",
                       trainable="partial", batch=args.batch, flops=flops))
    rows.append(run_ft(args, train_ds, val_ds, device, name="full FT (kit)",
                       trainable="full", batch=args.batch, flops=flops))
    b0 = rows[0]["seconds"]
    for r in rows:
        r["speedup_vs_b0"] = b0 / r["seconds"]
    b0_acc_epoch = rows[0]["accuracy_epoch"]
    accuracy = {"b0_epoch": b0_acc_epoch, "b0": rows[0]["val_accuracy"]}
    for r in rows:
        if r["variant"].startswith("TL cached"):
            key = "cached_int8" if "int8" in r["variant"] else "cached"
            same_epoch = r["accuracies"][b0_acc_epoch - 1]
            accuracy.update({f"{key}_same_epoch": same_epoch, f"{key}_final": r["val_accuracy"],
                             f"{key}_points_apart": abs(same_epoch - rows[0]["val_accuracy"]) * 100})
    summary = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                   f"torch {torch.__version__}, {torch.get_num_threads()} threads",
        "device": str(device), "image_size": args.size, "epochs": args.epochs,
        "weights": "pretrained" if args.pretrained else "practice (random) weights",
        "load_average_start": load, "load_average_end": os.getloadavg(),
        "forward_gflops_per_image": flops / 1e9, "matmul_peak_tflops": peak_tflops,
        "int8_peak_tops": int8_peak(device),
        "extraction": extraction, "variants": rows, "accuracy_check": accuracy,
    }
    full = rows[-1]
    print(f"\n{summary['machine']}; {device}, {args.size} px, {args.epochs} epochs, "
          f"{summary['weights']}; load average {load[0]:.1f} at start, "
          f"{summary['load_average_end'][0]:.1f} at end")
    print(table(rows, b0))
    print("* extrapolated to the full budget from what 'measured' says; the rest measured end "
          "to end (TL cached includes its caching pass).")
    for key, label in (("cached", "TL cached"), ("cached_int8", "TL cached int8")):
        if f"{key}_final" in accuracy:
            print(f"accuracy: B0 {accuracy['b0']:.1%} after {b0_acc_epoch} epoch(s); {label} "
                  f"{accuracy[key + '_same_epoch']:.1%} after the same epoch(s) "
                  f"({accuracy[key + '_points_apart']:.1f} points apart), "
                  f"{accuracy[key + '_final']:.1%} after {args.epochs}.")
    print(extraction_line(extraction))
    for r in rows:
        if r.get("breakdown") and r["variant"].startswith("TL cached"):
            print(breakdown_line(r))
    print(bound_line(summary))
    print(f"full FT: {full['train_tflops']:.2f} TFLOP/s achieved = "
          f"{100 * full['train_tflops'] / peak_tflops:.0f}% of the measured matmul peak "
          f"({peak_tflops:.2f} TFLOP/s, {fast.precision}).")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2, default=str))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
