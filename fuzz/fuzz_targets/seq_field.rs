//! A plain counter field (`u32be@N`, `u64le@N`...) at an arbitrary offset
//! of an arbitrary payload: read iff it fits, with the right bytes.
#![no_main]

use dataplane::seq::{Endian, Extract, FieldWidth, SeqSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Some((&off, p)) = rest.split_first() else {
        return;
    };
    let width = if sel & 1 == 0 {
        FieldWidth::U32
    } else {
        FieldWidth::U64
    };
    let endian = if sel & 2 == 0 {
        Endian::Big
    } else {
        Endian::Little
    };
    // Offsets far beyond any payload too (a config may say anything).
    let offset = if sel & 4 == 0 {
        usize::from(off)
    } else {
        usize::MAX - usize::from(off)
    };
    let spec = SeqSpec::Field {
        width,
        endian,
        offset,
    };
    let n = if width == FieldWidth::U32 { 4 } else { 8 };
    let fits = offset.checked_add(n).is_some_and(|e| e <= p.len());
    match spec.extract(p) {
        Ok(s) => {
            assert!(fits);
            let mut b = [0u8; 8];
            b[..n].copy_from_slice(&p[offset..offset + n]);
            let v = match endian {
                Endian::Big => {
                    b[..n].reverse();
                    u64::from_le_bytes(b)
                }
                Endian::Little => u64::from_le_bytes(b),
            };
            assert_eq!(s.value, v);
            assert_eq!(s.bits as usize, 8 * n);
        }
        Err(_) => assert!(!fits),
    }
});
