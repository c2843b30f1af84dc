#!/usr/bin/env bash
# Runs the multi-process example in one command: every role in its own OS process
# against anvil and js-ipfs on 127.0.0.1, with one Participant and one Evaluator
# killed and restarted; prints the task's JSON summary as the last line.
# Installs the npm packages it needs (anvil, js-ipfs) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x din-chain/contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil ] && [ -z "${DIN_ANVIL:-}" ]; then
  (cd din-chain/contracts && npm ci --no-audit --no-fund)
fi
if [ ! -f tests/js-ipfs/node_modules/ipfs/src/cli.js ] && [ -z "${DIN_JSIPFS:-}" ]; then
  (cd tests/js-ipfs && npm ci --no-audit --no-fund)
fi
# DIN_PROFILE=dev uses the dev profile; DIN_SKIP_BUILD=1 runs binaries `cargo test` has
# just built (CI: building the one example alone would unify features differently and
# rebuild the dependencies). The default builds and runs the release profile.
profile="${DIN_PROFILE:-release}"
dir=release
[ "$profile" = dev ] && dir=debug
if [ "${DIN_SKIP_BUILD:-}" != 1 ]; then
  cargo build --locked --profile "$profile" --example multiprocess --example verify
fi
exec "target/$dir/examples/multiprocess" --json "$@"
