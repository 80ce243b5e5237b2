//! The exponential "code" encoding of Max Resp Code and QQIC (RFC 3376
//! §4.1.1 and §4.1.7, RFC 3810 §5.1.3 and §5.1.9): small values as they
//! are, large ones as mantissa and exponent.

/// An 8-bit code (IGMPv3 Max Resp Code in 1/10 s, QQIC in s) to its value.
pub fn decode8(code: u8) -> u32 {
    if code < 128 {
        u32::from(code)
    } else {
        let mant = u32::from(code & 0x0f);
        let exp = u32::from((code >> 4) & 0x07);
        (mant | 0x10) << (exp + 3)
    }
}

/// The 8-bit code of `value` (the largest code not above it when it cannot
/// be written exactly; at most 31744).
pub fn encode8(value: u32) -> u8 {
    if value < 128 {
        return value as u8;
    }
    let mut best = 127u8;
    for code in 128..=255u8 {
        if decode8(code) <= value {
            best = code;
        }
    }
    best
}

/// A 16-bit MLDv2 Max Resp Code (ms) to its value.
pub fn decode16(code: u16) -> u32 {
    if code < 32768 {
        u32::from(code)
    } else {
        let mant = u32::from(code & 0x0fff);
        let exp = u32::from((code >> 12) & 0x07);
        (mant | 0x1000) << (exp + 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_rfc_examples() {
        assert_eq!(decode8(100), 100);
        assert_eq!(decode8(127), 127);
        // 0x80: mant 0, exp 0 -> 0x10 << 3 = 128.
        assert_eq!(decode8(0x80), 128);
        assert_eq!(decode8(0xff), 31744);
        assert_eq!(decode16(10000), 10000);
        assert_eq!(decode16(0x8000), 0x1000 << 3);
        for v in [0, 1, 125, 127, 128, 130, 1000, 31744] {
            assert!(decode8(encode8(v)) <= v);
        }
        assert_eq!(decode8(encode8(125)), 125);
        assert_eq!(decode8(encode8(136)), 136);
    }
}
