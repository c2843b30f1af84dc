#!/usr/bin/env bash
# Runs the FedAvg and MLP-epoch peers (benches/peers/fedavg.py, torch_mlp.py)
# and din's examples/fl_bench.rs back to back, then prints the side-by-side table of
# benches/README.md. Usage: benches/compare_fl.sh [OUT_DIR]  (pip installs flwr, numpy, torch)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peers="$root/benches/peers"
out=${1:-$(mktemp -d)}
mkdir -p "$out"
venv=${PEERS_VENV:-$out/venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import flwr, numpy, torch" 2>/dev/null || "$venv/bin/pip" install -q flwr numpy torch
cd "$root"
cargo build --release --example fl_bench
(cd "$out" && "$venv/bin/python" "$peers/fedavg.py" --reps 7 --json "$out/fedavg.json" | tee "$out/fedavg.log")
(cd "$out" && "$venv/bin/python" "$peers/torch_mlp.py" --epochs 3 --json "$out/torch.json" | tee "$out/torch.log")
./target/release/examples/fl_bench --json --reps 7 --epochs 3 | tee "$out/din.jsonl"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
fed = json.load(open(f"{out}/fedavg.json"))
torch = json.load(open(f"{out}/torch.json"))
din = [json.loads(l) for l in open(f"{out}/din.jsonl")]
print("| workload | peer | peer | din | din vs peer |")
print("|---|---|---|---|---|")
for n in (10, 100):
    for layout in ("matrix", "vectors"):
        d = next(r for r in din if r["bench"] == "fedavg" and r["n"] == n and r.get("layout") == layout)
        for name in ("flwr_aggregate", "np_average", "manual_axpy", "blas_gemv"):
            p = next(r for r in fed if r["name"] == name and r["n"] == n)
            print(f"| fedavg n={n} D=1e6 ({layout}) | {name} | {p['median_s']*1e3:.2f} ms | {d['median_ms']:.2f} ms | {p['median_s']*1e3/d['median_ms']:.2f}x |")
t1 = next(r for r in torch if r["threads"] == 1)
e = next(r for r in din if r["bench"] == "train_epoch_mlp")
print(f"| MLP 784-128-10 epoch, 60k, batch 64, 1 thread | PyTorch {t1['torch']} | {t1['median_epoch_s']:.3f} s | {e['median_s']:.3f} s | {t1['median_epoch_s']/e['median_s']:.2f}x |")
PY
