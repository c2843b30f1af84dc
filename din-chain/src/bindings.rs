//! Contract bindings: alloy `sol!` types generated from the committed artifacts in
//! `din-chain/artifacts/` (ABI and bytecode), themselves compiled from
//! `din-chain/contracts/src/*.sol` by the pinned solc (`npm run build` there).
//!
//! A contract edit shows up here as soon as the artifacts are rebuilt, and CI's drift
//! check (`npm run check`) fails when they were not: a changed signature breaks the Rust
//! build, not a deployment.
#![allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(all_derives)]
    DinToken,
    "artifacts/DinToken.json"
);

sol!(
    #[sol(all_derives)]
    EvaluatorRegistry,
    "artifacts/EvaluatorRegistry.json"
);

sol!(
    #[sol(all_derives)]
    DinTaskManager,
    "artifacts/DinTaskManager.json"
);

sol!(
    #[sol(all_derives)]
    AllowListGate,
    "artifacts/AllowListGate.json"
);

/// Contracts used only by tests (a token with transfer hooks and a malicious receiver).
pub mod test_contracts {
    use alloy::sol;

    sol!(
        #[sol(all_derives)]
        CallbackToken,
        "artifacts/test/CallbackToken.json"
    );

    sol!(
        #[sol(all_derives)]
        ReentrantReceiver,
        "artifacts/test/ReentrantReceiver.json"
    );
}
