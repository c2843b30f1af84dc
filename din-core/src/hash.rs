//! Hash functions used across the protocol.

use sha2::Digest as _;

/// SHA2-256, the hash of DIN's CIDs.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

/// Keccak-256 as the EVM computes it (not NIST SHA3-256): used wherever a contract must
/// recompute a value cheaply (score commitments, assignment shuffles).
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    sha3::Keccak256::digest(data).into()
}
