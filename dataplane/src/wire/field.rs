//! Big-endian field access for the header views: each helper is defined
//! once here, and every view names its fields as byte ranges (its own
//! `field` module, smoltcp style) instead of bare indices.

use std::ops::Range;

/// A byte range within a header.
pub type Field = Range<usize>;

/// The big-endian 16-bit value in `b[f]` (`f` is two bytes long).
#[inline(always)]
pub fn be16(b: &[u8], f: Field) -> u16 {
    let w = &b[f];
    u16::from_be_bytes([w[0], w[1]])
}

/// The big-endian 32-bit value in `b[f]` (`f` is four bytes long).
#[inline(always)]
pub fn be32(b: &[u8], f: Field) -> u32 {
    let w = &b[f];
    u32::from_be_bytes([w[0], w[1], w[2], w[3]])
}

/// Stores `v` big-endian in `b[f]` (`f` is two bytes long).
#[inline(always)]
pub fn set_be16(b: &mut [u8], f: Field, v: u16) {
    b[f].copy_from_slice(&v.to_be_bytes());
}

/// Stores `v` big-endian in `b[f]` (`f` is four bytes long).
#[inline(always)]
pub fn set_be32(b: &mut [u8], f: Field, v: u32) {
    b[f].copy_from_slice(&v.to_be_bytes());
}

/// The bytes of `b[f]` as an array (`f` is `N` bytes long).
#[inline(always)]
pub fn array<const N: usize>(b: &[u8], f: Field) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[f]);
    a
}
