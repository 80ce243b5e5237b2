//! Output RTP renumbering: the output stream keeps one SSRC
//! and a continuous sequence even when the source restarts.

use super::spec::RewriteError;
use super::FrameBuf;
use crate::wire::checksum::Accum;
use crate::wire::rtp::RtpPacket;
use crate::wire::{DropReason, FrameOffsets, UdpDatagram};

/// Per-stream renumbering state.
///
/// Each output packet gets `seq = base_out + (ext_seq - base_ext)` (mod
/// 2^16) where `ext_seq` is the merge's extended sequence number. Within an
/// epoch, gaps the merge skipped stay gaps (receivers still see the loss);
/// when the merge resynchronises to a restarted source it bumps `epoch`, and
/// the first packet of the new epoch continues at `last output seq + 1`.
/// The first packet ever keeps its own sequence number, so a stream that
/// never restarts leaves unchanged. The SSRC is the configured one, or else
/// the first packet's, for the life of the stream. Timestamps are left
/// alone (they carry media timing, e.g. PTP-derived in ST 2110).
#[derive(Clone, Debug, Default)]
pub struct RtpRenumber {
    fixed_ssrc: Option<u32>,
    state: Option<State>,
}

#[derive(Clone, Copy, Debug)]
struct State {
    ssrc: u32,
    epoch: u32,
    base_ext: u64,
    base_out: u16,
    last_out: u16,
}

impl RtpRenumber {
    /// A renumberer that emits `ssrc`, or the first packet's SSRC if `None`.
    pub fn new(ssrc: Option<u32>) -> Self {
        RtpRenumber {
            fixed_ssrc: ssrc,
            state: None,
        }
    }

    /// The SSRC output packets carry (known after the first packet unless
    /// configured).
    pub fn output_ssrc(&self) -> Option<u32> {
        self.state.map(|s| s.ssrc).or(self.fixed_ssrc)
    }

    /// The last output sequence number, if any packet went through.
    pub fn last_seq(&self) -> Option<u16> {
        self.state.map(|s| s.last_out)
    }

    /// Renumbers one frame in place: RTP sequence and SSRC, UDP checksum
    /// updated incrementally (zero stays zero). Returns the output sequence
    /// number. `at`: where the rx parse found the headers; `ext_seq`: the
    /// packet's extended sequence number; `epoch`: the merge's
    /// resynchronisation count for this stream.
    ///
    /// On error (offsets that do not fit the frame, or no valid RTP v2
    /// header) neither the frame nor the state changes.
    pub fn apply<B: FrameBuf>(
        &mut self,
        buf: &mut B,
        at: FrameOffsets,
        ext_seq: u64,
        epoch: u32,
    ) -> Result<u16, RewriteError> {
        if !at.fits(buf.bytes()) {
            return Err(RewriteError::Malformed(DropReason::TooShort));
        }
        let malformed = RewriteError::Malformed;
        let mut udp =
            UdpDatagram::new_checked(&mut buf.bytes_mut()[at.udp()]).map_err(malformed)?;
        let (in_seq, in_ssrc) = {
            let rtp = RtpPacket::new_checked(udp.payload()).map_err(malformed)?;
            (rtp.sequence(), rtp.ssrc())
        };
        let st = match self.state {
            None => State {
                ssrc: self.fixed_ssrc.unwrap_or(in_ssrc),
                epoch,
                base_ext: ext_seq,
                base_out: in_seq,
                last_out: in_seq,
            },
            Some(s) if s.epoch != epoch => State {
                epoch,
                base_ext: ext_seq,
                base_out: s.last_out.wrapping_add(1),
                ..s
            },
            Some(s) => s,
        };
        let out = st
            .base_out
            .wrapping_add(ext_seq.wrapping_sub(st.base_ext) as u16);

        // Cannot fail: the same bytes passed the check above.
        let mut rtp = RtpPacket::new_checked(udp.payload_mut()).map_err(malformed)?;
        rtp.set_sequence(out);
        rtp.set_ssrc(st.ssrc);
        // The RTP header starts 8 bytes (an even count) into the datagram,
        // so its fields are aligned checksum words.
        udp.adjust_checksum(
            Accum::new()
                .sub_u16(in_seq)
                .add_u16(out)
                .sub_u32(in_ssrc)
                .add_u32(st.ssrc),
        );
        self.state = Some(State {
            last_out: out,
            ..st
        });
        Ok(out)
    }
}
