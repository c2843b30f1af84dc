#!/usr/bin/env bash
# Runs the peer baselines that benches/README.md compares din with (Flower, numpy and,
# optionally, PyTorch) on this machine, and leaves their JSON files and logs in OUT_DIR.
#
# Usage: benches/peers/run.sh [OUT_DIR]          (OUT_DIR defaults to a fresh temp dir)
# Environment:
#   PEERS_VENV=DIR    use (or create) this venv instead of OUT_DIR/venv
#   PEERS_TORCH=1     also pip install torch (a large download) and run torch_mlp.py;
#                     without it, torch_mlp.py runs only if the venv already has torch
#   PEERS_E2E="N M NUM_SHARES THRESHOLD DROP"
#                     also run one Flower SecAgg+ round end to end (pip installs
#                     flwr[simulation], i.e. Ray), e.g. PEERS_E2E="50 100000 11 6 0.2"
#   PEERS_QUICK=1     tiny sizes and one repetition: checks that the scripts run, the
#                     figures mean nothing
# Needs python3 with venv and pip, and PyPI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$(mktemp -d)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
venv=${PEERS_VENV:-$out/venv}

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"
if [ -n "${PEERS_E2E:-}" ]; then
  "$py" -c "import flwr, numpy, ray" 2>/dev/null || "$venv/bin/pip" install -q "flwr[simulation]" numpy
else
  "$py" -c "import flwr, numpy" 2>/dev/null || "$venv/bin/pip" install -q flwr numpy
fi
if [ "${PEERS_TORCH:-0}" = 1 ] && ! "$py" -c "import torch" 2>/dev/null; then
  "$venv/bin/pip" install -q torch
fi

if [ "${PEERS_QUICK:-0}" = 1 ]; then
  secagg_args=(--D 10000 --k 10 --reps 1); fedavg_args=(--quick); torch_args=(--quick)
else
  secagg_args=(--reps 5); fedavg_args=(--reps 7); torch_args=(--epochs 3)
fi

cd "$out"
"$py" "$here/flwr_secagg.py" "${secagg_args[@]}" --json "$out/flower_secagg.json" | tee "$out/flower_secagg.log"
"$py" "$here/fedavg.py" "${fedavg_args[@]}" --json "$out/fedavg.json" | tee "$out/fedavg.log"
if "$py" -c "import torch" 2>/dev/null; then
  "$py" "$here/torch_mlp.py" "${torch_args[@]}" --json "$out/torch.json" | tee "$out/torch.log"
else
  echo "torch not installed in $venv: skipping torch_mlp.py (set PEERS_TORCH=1)"
fi
if [ -n "${PEERS_E2E:-}" ]; then
  # shellcheck disable=SC2086  # five numbers, split on purpose
  "$py" "$here/flwr_secaggplus_e2e.py" $PEERS_E2E > "$out/e2e.log" 2>&1
  grep '^RESULT ' "$out/e2e.log" | tee "$out/e2e.result"
fi
echo "results in $out"
