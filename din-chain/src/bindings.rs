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

/// The task manager (its structs are `DinTaskBase`'s, the shared half of its source).
mod manager {
    use alloy::sol;

    sol!(
        #[sol(all_derives)]
        DinTaskManager,
        "artifacts/DinTaskManager.json"
    );
}
pub use manager::{DinTaskBase, DinTaskManager};

/// The task manager's scoring and settlement half: its functions are called at the
/// manager's address (the manager delegates them).
mod scoring {
    use alloy::sol;

    sol!(
        #[sol(all_derives)]
        DinTaskScoring,
        "artifacts/DinTaskScoring.json"
    );
}
pub use scoring::DinTaskScoring;

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
