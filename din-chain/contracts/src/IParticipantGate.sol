// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

/// @title Participant gate
/// @notice Sybil-resistance hook (paper §6): a task may name a gate that every participant
/// must pass to opt in (an allow-list, an identity attestation, a proof of personhood).
interface IParticipantGate {
    /// @return true when `participant` may join task `taskId`; `proof` is passed through
    /// from the participant's `register` call unchanged.
    function isAllowed(uint64 taskId, address participant, bytes calldata proof) external view returns (bool);
}
