// SPDX-License-Identifier: Apache-2.0 OR MIT
pragma solidity 0.8.30;

/// @title DIN subgroup assignment
/// @notice Exactly din-core's `assignment` module (swap-or-not shuffle, 90 rounds,
/// keccak256, big-endian), so that membership of one account in one subgroup is checked
/// in O(rounds) without storing whole assignments. Cross-checked by
/// `tests/vectors/assignment.json` in the Rust and contract test suites.
library DinAssignment {
    /// Rounds of the swap-or-not shuffle (din-core `SHUFFLE_ROUNDS`).
    uint256 internal constant ROUNDS = 90;

    /// The position of `index` in a list of `count` items shuffled with `seed`
    /// (din-core `shuffled_index`). Requires `index < count`, `0 < count < 2^32`.
    function shuffledIndex(uint256 index, uint256 count, bytes32 seed) internal pure returns (uint256 result) {
        assembly ("memory-safe") {
            // Scratch space past the free-memory pointer: seed | round (1 byte) | block (4 bytes BE).
            // Branchless: max and the conditional swap are computed with xor/mul.
            let ptr := mload(0x40)
            mstore(ptr, seed)
            let roundByte := add(ptr, 32)
            let blockWord := add(ptr, 33)
            for { let r := 0 } lt(r, 90) { r := add(r, 1) } {
                mstore8(roundByte, r)
                let flip := mod(sub(add(mod(shr(192, keccak256(ptr, 33)), count), count), index), count)
                let position := xor(index, mul(xor(index, flip), gt(flip, index)))
                mstore(blockWord, shl(224, shr(8, position)))
                let bit := and(shr(and(position, 7), byte(and(shr(3, position), 31), keccak256(ptr, 37))), 1)
                index := xor(index, mul(xor(index, flip), bit))
            }
            result := index
        }
    }

    /// The participant seed of a round (din-core `derive_seed(seed, b"din/participants")`).
    function participantSeed(bytes32 seed) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(seed, "din/participants"));
    }

    /// The evaluator seed of a round (din-core `derive_seed(seed, b"din/evaluators")`).
    function evaluatorSeed(bytes32 seed) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(seed, "din/evaluators"));
    }

    /// The subgroup of shuffled position `p` among `n` participants in `g` subgroups
    /// (din-core `subgroup_of_position`): contiguous, sizes differing by at most one.
    function subgroupOfPosition(uint256 p, uint256 n, uint256 g) internal pure returns (uint256) {
        return ((p + 1) * g - 1) / n;
    }

    /// The first shuffled position of subgroup `j` and the number of positions in it.
    function subgroupRange(uint256 j, uint256 n, uint256 g) internal pure returns (uint256 first, uint256 size) {
        // p is in j  <=>  j*n + 1 <= (p+1)*g <= (j+1)*n
        first = (j * n + g) / g; // ceil((j*n + 1) / g), as p + 1
        uint256 last = ((j + 1) * n) / g; // as p + 1
        size = last + 1 - first;
        first -= 1;
    }
}
