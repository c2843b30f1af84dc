#!/usr/bin/env bash
# Runs Flower's SecAgg+ benchmark (benches/peers/flwr_secagg.py) and din's
# (examples/secagg_bench.rs) back to back on this machine, then prints the side-by-side
# table of benches/README.md with ratios.
# Usage: benches/compare_secagg.sh [OUT_DIR]   (needs python3 + pip for flwr and numpy)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peers="$root/benches/peers"
out=${1:-$(mktemp -d)}
mkdir -p "$out"
venv=${PEERS_VENV:-$out/venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q flwr numpy
fi
cd "$root"
cargo build --release --example secagg_bench
(cd "$out" && "$venv/bin/python" "$peers/flwr_secagg.py" --reps 5 --json "$out/flower.json" | tee "$out/flower.log")
./target/release/examples/secagg_bench --json --reps 7 | tee "$out/din.jsonl"
openssl speed -evp aes-128-ctr -seconds 2 -bytes 4000000 2>/dev/null | tail -1 | tee "$out/openssl.log" || true
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
rows = json.load(open(f"{out}/flower.json"))["results"]
def fl(bench, **params):
    for r in rows:
        if r["bench"] == bench and all(r.get(key) == v for key, v in params.items()):
            return r["median_s"] * 1e3
din = [json.loads(l) for l in open(f"{out}/din.jsonl")]
def dn(bench, d, k):
    for r in din:
        if r["bench"] == bench and r["d"] == d and r["k"] == k:
            return r["median_ms"]
print("| workload | Flower (ms) | din (ms) | ratio |")
print("|---|---|---|---|")
for d in (100000, 1000000):
    for k in (10, 50):
        for name in ("client_mask", "unmask", "unmask_1_dropout"):
            f, m = fl(name, D=d, k=k), dn(name, d, k)
            if f and m:
                print(f"| {name} D={d:,} k={k} n={k+1} | {f:.1f} | {m:.2f} | {f/m:.1f}x |")
for name in ("shamir_split", "shamir_combine"):
    f, m = fl(name, secret_bytes=32, n=50, t=26), dn(name, 32, 49)
    print(f"| {name} 32 B n=50 t=26 | {f:.2f} | {m:.3f} | {f/m:.0f}x |")
PY
