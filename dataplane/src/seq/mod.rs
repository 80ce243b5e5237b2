//! Sequence numbers: where a stream carries them and how they become `u64`.
//!
//! The merge needs one totally ordered number per packet so both legs' copies
//! of a packet land at the same slot. Formats carry 16 bits (RTP), 32 bits
//! (CME MDP3, Cboe PITCH) or 64 bits (MoldUDP64); [`SeqSpec`] says where to read them and
//! [`extend`] turns the short ones into a `u64` that keeps growing across
//! rollover.

#![forbid(unsafe_code)]

pub mod extend;
mod framing;
mod spec;

pub use extend::{extend, extend_shifted, first_extension, shift_of, Extender};
pub use framing::{
    pitch_port_wide, CME_HEADER, CME_MIN_MESSAGE, MOLD_END_OF_SESSION, MOLD_HEADER, PITCH_HEADER,
    PITCH_MIN_MESSAGE, PITCH_UNIT_AT,
};
pub use spec::{Endian, Extract, FieldWidth, SeqError, SeqSample, SeqSpec};
