//! Identifiers: tasks, rounds, subgroups, accounts and 32-byte digests.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::encoding::{Canonical, Reader, Writer};
use crate::{Error, Result};

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl Canonical for $name {
            fn encode(&self, w: &mut Writer) {
                self.0.encode(w);
            }
            fn decode(r: &mut Reader<'_>) -> Result<Self> {
                <$inner>::decode(r).map(Self)
            }
        }
    };
}

numeric_id!(
    /// A task, as numbered by the task contract (paper §5.1 step 1).
    TaskId(u64)
);
numeric_id!(
    /// A training round within a task, counted from 0.
    Round(u32)
);
numeric_id!(
    /// A subgroup of a round, counted from 0 (paper §5.1 step 3c).
    SubgroupId(u32)
);

macro_rules! hex_bytes {
    ($(#[$doc:meta])* $name:ident, $n:expr, $what:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; $n]);

        impl $name {
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $n] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "0x{}", hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = Error;
            /// Parses `0x`-prefixed (or bare) hex of exactly the right length.
            fn from_str(s: &str) -> Result<Self> {
                let digits = s.strip_prefix("0x").unwrap_or(s);
                let mut out = [0u8; $n];
                hex::decode_to_slice(digits, &mut out).map_err(|e| {
                    Error::invalid($what, format!("{s:?} is not {} hex bytes: {e}", $n))
                })?;
                Ok(Self(out))
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl Canonical for $name {
            fn encode(&self, w: &mut Writer) {
                w.raw(&self.0);
            }
            fn decode(r: &mut Reader<'_>) -> Result<Self> {
                r.array($what).map(Self)
            }
        }
    };
}

hex_bytes!(
    /// A 20-byte account address on the coordinating EVM chain (Participants,
    /// Evaluators, the Model Owner). Displayed and serialized as `0x`-prefixed hex.
    Address,
    20,
    "address"
);
hex_bytes!(
    /// A 32-byte digest, seed or salt. Displayed and serialized as `0x`-prefixed hex.
    Digest32,
    32,
    "32-byte digest"
);

/// The role an account plays in a task (paper §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Role {
    /// Creates the task, deposits the reward, publishes global models (§5.1 step 1).
    ModelOwner,
    /// Holds data, trains locally, uploads masked updates (§5.1 step 2).
    Participant,
    /// Stakes, aggregates a subgroup's updates, scores contributions (§5.1 steps 3, 7).
    Evaluator,
}

impl Canonical for Role {
    fn encode(&self, w: &mut Writer) {
        w.u8(match self {
            Role::ModelOwner => 0,
            Role::Participant => 1,
            Role::Evaluator => 2,
        });
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self> {
        match r.u8("role")? {
            0 => Ok(Role::ModelOwner),
            1 => Ok(Role::Participant),
            2 => Ok(Role::Evaluator),
            other => Err(Error::invalid("role", format!("unknown role tag {other}"))),
        }
    }
}
