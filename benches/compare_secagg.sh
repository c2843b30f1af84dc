#!/usr/bin/env bash
# Runs Flower's SecAgg+ benchmark (../shared/peers/bench_flwr_secagg.py) and din's
# (examples/secagg_bench.rs) back to back on this machine, then prints the side-by-side
# table of benches/README.md with ratios.
# Usage: benches/compare_secagg.sh [OUT_DIR]   (needs python3 + pip for flwr and numpy)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peers="$root/../shared/peers"
out=${1:-$(mktemp -d)}
mkdir -p "$out"
venv=${PEERS_VENV:-$out/venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q flwr numpy
fi
cd "$root"
cargo build --release --example secagg_bench
(cd "$out" && "$venv/bin/python" "$peers/bench_flwr_secagg.py" --reps 5 --json "$out/flower.json" | tee "$out/flower.log")
./target/release/examples/secagg_bench --json --reps 7 | tee "$out/din.jsonl"
openssl speed -evp aes-128-ctr -seconds 2 -bytes 4000000 2>/dev/null | tail -1 | tee "$out/openssl.log" || true
python3 - "$out" <<'PY'
import json, re, sys
out = sys.argv[1]
flower = json.load(open(f"{out}/flower.json"))
rows = flower["results"] if isinstance(flower, dict) else flower
def fl(prefix, d=None, k=None):
    for r in rows:
        p = r["params"]
        if r["name"].startswith(prefix) and (d is None or f"D={d:,} " in p + " ") and (k is None or f"k={k} " in p + " "):
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
        for name, fprefix in (("client_mask", "a) client"), ("unmask", "b) server total"), ("unmask_1_dropout", "b.3)")):
            f, m = fl(fprefix, d, k), dn(name, d, k)
            if f and m:
                print(f"| {name} D={d:,} k={k} n={k+1} | {f:.1f} | {m:.2f} | {f/m:.1f}x |")
for name, fprefix in (("shamir_split", "c.1)"), ("shamir_combine", "c.2)")):
    f, m = fl(fprefix), dn(name, 32, 49)
    print(f"| {name} 32 B n=50 t=26 | {f:.2f} | {m:.3f} | {f/m:.0f}x |")
PY
