//! Classic libpcap files: write them for DPDK's `net_pcap` vdev and tcpreplay,
//! read back what the vdev (or tshark) wrote so tests can assert on the bytes.
//!
//! Format facts (libpcap `pcap-savefile(5)`): a 24-byte global header whose
//! magic `0xa1b2c3d4` means microsecond timestamps and `0xa1b23c4d` means
//! nanosecond ones (either byte order), then records of a 16-byte header
//! (seconds, sub-seconds, captured length, original length) and the bytes.
//! The reader also accepts pcapng (what tshark writes by default), enough of
//! it (SHB, IDB, EPB, SPB) to get Ethernet frames and timestamps out.
//!
//! The reader never panics on bad input: a wrong magic, a record cut short or
//! a length that makes no sense is a [`PcapError`] naming the offset.

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

/// Link type of Ethernet frames (LINKTYPE_ETHERNET), the only one this
/// project produces or consumes.
pub const LINKTYPE_ETHERNET: u32 = 1;

/// Snap length written in headers: large enough for jumbo frames.
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// Largest record the reader accepts; anything bigger means a corrupt file
/// (and would otherwise make us allocate whatever a broken header says).
pub const MAX_RECORD_LEN: u32 = 262_144;

const MAGIC_USEC: u32 = 0xa1b2_c3d4;
const MAGIC_NSEC: u32 = 0xa1b2_3c4d;
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
const PCAPNG_BOM: u32 = 0x1a2b_3c4d;

/// Timestamp resolution of a classic pcap file, chosen by its magic number.
/// Nanosecond files keep pacing exact; microsecond files are what most tools
/// expect by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsResolution {
    /// Magic `0xa1b2c3d4`: the sub-second field counts microseconds.
    Micro,
    /// Magic `0xa1b23c4d`: the sub-second field counts nanoseconds.
    Nano,
}

/// On-disk container a [`PcapReader`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Classic libpcap with the given timestamp resolution.
    Classic(TsResolution),
    /// pcapng (read-only support).
    PcapNg,
}

/// One captured frame. The timestamp is kept in nanoseconds since the Unix
/// epoch whatever the file resolution, so scenarios can space packets by
/// sub-microsecond gaps and compare files of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapPacket {
    /// Capture time in nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Captured bytes (the Ethernet frame, without FCS).
    pub data: Vec<u8>,
    /// Length of the frame on the wire (>= `data.len()` when truncated by snaplen).
    pub orig_len: u32,
}

impl PcapPacket {
    /// A complete (untruncated) frame captured at `ts_ns`.
    pub fn new(ts_ns: u64, data: Vec<u8>) -> Self {
        let orig_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        PcapPacket {
            ts_ns,
            data,
            orig_len,
        }
    }
}

/// Why a pcap file could not be read or written.
#[derive(Debug)]
pub enum PcapError {
    /// The underlying file failed.
    Io(io::Error),
    /// The first four bytes are no pcap or pcapng magic.
    BadMagic(u32),
    /// The file ends in the middle of a header or record.
    Truncated {
        /// Byte offset of the header or record that is cut short.
        offset: u64,
        /// What was being read there.
        what: &'static str,
    },
    /// A header field is impossible (length too large, block too small, ...).
    Corrupt {
        /// Byte offset of the bad header.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
}

impl fmt::Display for PcapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PcapError::Io(e) => write!(f, "pcap I/O error: {e}"),
            PcapError::BadMagic(m) => {
                write!(f, "not a pcap or pcapng file (magic 0x{m:08x})")
            }
            PcapError::Truncated { offset, what } => {
                write!(f, "pcap file truncated in {what} at byte {offset}")
            }
            PcapError::Corrupt { offset, reason } => {
                write!(f, "corrupt pcap at byte {offset}: {reason}")
            }
        }
    }
}

impl std::error::Error for PcapError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PcapError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for PcapError {
    fn from(e: io::Error) -> Self {
        PcapError::Io(e)
    }
}

/// Streams frames into a classic pcap file (Ethernet link type).
/// Buffered: call [`PcapWriter::finish`] (or drop) to flush.
pub struct PcapWriter<W: Write> {
    out: W,
    resolution: TsResolution,
    snaplen: u32,
}

impl PcapWriter<BufWriter<File>> {
    /// Creates (truncates) `path` and writes the global header.
    pub fn create(path: impl AsRef<Path>, resolution: TsResolution) -> io::Result<Self> {
        let file = File::create(path)?;
        PcapWriter::new(BufWriter::with_capacity(1 << 20, file), resolution)
    }
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header to `out` (little-endian, LINKTYPE_ETHERNET,
    /// snaplen [`DEFAULT_SNAPLEN`]).
    pub fn new(mut out: W, resolution: TsResolution) -> io::Result<Self> {
        let magic = match resolution {
            TsResolution::Micro => MAGIC_USEC,
            TsResolution::Nano => MAGIC_NSEC,
        };
        let mut hdr = [0u8; 24];
        hdr[0..4].copy_from_slice(&magic.to_le_bytes());
        hdr[4..6].copy_from_slice(&2u16.to_le_bytes());
        hdr[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone = 0, sigfigs = 0
        hdr[16..20].copy_from_slice(&DEFAULT_SNAPLEN.to_le_bytes());
        hdr[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&hdr)?;
        Ok(PcapWriter {
            out,
            resolution,
            snaplen: DEFAULT_SNAPLEN,
        })
    }

    /// Appends one frame captured at `ts_ns` (ns since the epoch; truncated to
    /// microseconds in a microsecond file). Frames longer than the snaplen are
    /// cut, with the true length kept in the record's original length.
    pub fn write_frame(&mut self, ts_ns: u64, frame: &[u8]) -> io::Result<()> {
        let orig_len = u32::try_from(frame.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame longer than 4 GiB"))?;
        self.write_record(ts_ns, frame, orig_len)
    }

    /// Appends a [`PcapPacket`] as it is (timestamp, bytes, original length).
    pub fn write_packet(&mut self, pkt: &PcapPacket) -> io::Result<()> {
        self.write_record(pkt.ts_ns, &pkt.data, pkt.orig_len)
    }

    fn write_record(&mut self, ts_ns: u64, frame: &[u8], orig_len: u32) -> io::Result<()> {
        let secs = ts_ns / 1_000_000_000;
        let secs = u32::try_from(secs).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "timestamp beyond 2106 does not fit a pcap record",
            )
        })?;
        let sub_ns = (ts_ns % 1_000_000_000) as u32;
        let sub = match self.resolution {
            TsResolution::Micro => sub_ns / 1000,
            TsResolution::Nano => sub_ns,
        };
        let incl = frame.len().min(self.snaplen as usize);
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&secs.to_le_bytes());
        rec[4..8].copy_from_slice(&sub.to_le_bytes());
        rec[8..12].copy_from_slice(&(incl as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&orig_len.max(incl as u32).to_le_bytes());
        self.out.write_all(&rec)?;
        self.out.write_all(&frame[..incl])
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Writes `packets` to `path` as a classic pcap file in one call.
pub fn write_pcap(
    path: impl AsRef<Path>,
    resolution: TsResolution,
    packets: &[PcapPacket],
) -> io::Result<()> {
    let mut w = PcapWriter::create(path, resolution)?;
    for p in packets {
        w.write_packet(p)?;
    }
    w.finish()?;
    Ok(())
}

/// Per-interface facts of a pcapng file needed to decode its packets.
#[derive(Clone, Copy)]
struct NgInterface {
    linktype: u32,
    /// Timestamp units per second.
    units_per_sec: u64,
}

enum Kind {
    Classic {
        resolution: TsResolution,
        swapped: bool,
        linktype: u32,
    },
    Ng {
        swapped: bool,
        interfaces: Vec<NgInterface>,
    },
}

/// Reads frames one by one from a classic pcap or pcapng stream.
/// Also an `Iterator<Item = Result<PcapPacket, PcapError>>`; after the first
/// error the iterator ends.
pub struct PcapReader<R: Read> {
    input: R,
    offset: u64,
    kind: Kind,
    failed: bool,
}

impl PcapReader<BufReader<File>> {
    /// Opens `path` and reads its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, PcapError> {
        let file = File::open(path)?;
        PcapReader::new(BufReader::with_capacity(1 << 20, file))
    }
}

/// Reads exactly `buf.len()` bytes; `Ok(false)` on a clean end of file before
/// the first byte, `Truncated` if the file ends part-way.
fn read_full<R: Read>(
    input: &mut R,
    buf: &mut [u8],
    offset: u64,
    what: &'static str,
) -> Result<bool, PcapError> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => {
                if got == 0 {
                    return Ok(false);
                }
                return Err(PcapError::Truncated { offset, what });
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(PcapError::Io(e)),
        }
    }
    Ok(true)
}

fn u32_at(b: &[u8], at: usize, swapped: bool) -> u32 {
    let v = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    if swapped {
        v.swap_bytes()
    } else {
        v
    }
}

fn u16_at(b: &[u8], at: usize, swapped: bool) -> u16 {
    let v = u16::from_le_bytes([b[at], b[at + 1]]);
    if swapped {
        v.swap_bytes()
    } else {
        v
    }
}

impl<R: Read> PcapReader<R> {
    /// Reads the file header from `input` and detects the format.
    pub fn new(mut input: R) -> Result<Self, PcapError> {
        let mut magic = [0u8; 4];
        if !read_full(&mut input, &mut magic, 0, "file header")? {
            return Err(PcapError::Truncated {
                offset: 0,
                what: "file header (empty file)",
            });
        }
        let m = u32::from_le_bytes(magic);
        if m == PCAPNG_SHB {
            let mut len_raw = [0u8; 4];
            if !read_full(&mut input, &mut len_raw, 0, "pcapng section header")? {
                return Err(PcapError::Truncated {
                    offset: 0,
                    what: "pcapng section header",
                });
            }
            let mut r = PcapReader {
                input,
                offset: 0,
                kind: Kind::Ng {
                    swapped: false,
                    interfaces: Vec::new(),
                },
                failed: false,
            };
            r.read_ng_shb(0, len_raw)?;
            return Ok(r);
        }
        let (resolution, swapped) = match m {
            MAGIC_USEC => (TsResolution::Micro, false),
            MAGIC_NSEC => (TsResolution::Nano, false),
            x if x == MAGIC_USEC.swap_bytes() => (TsResolution::Micro, true),
            x if x == MAGIC_NSEC.swap_bytes() => (TsResolution::Nano, true),
            other => return Err(PcapError::BadMagic(other)),
        };
        let mut rest = [0u8; 20];
        if !read_full(&mut input, &mut rest, 4, "file header")? {
            return Err(PcapError::Truncated {
                offset: 4,
                what: "file header",
            });
        }
        let linktype = u32_at(&rest, 16, swapped) & 0x0fff_ffff;
        Ok(PcapReader {
            input,
            offset: 24,
            kind: Kind::Classic {
                resolution,
                swapped,
                linktype,
            },
            failed: false,
        })
    }

    /// Container format and timestamp resolution of the file.
    pub fn format(&self) -> FileFormat {
        match &self.kind {
            Kind::Classic { resolution, .. } => FileFormat::Classic(*resolution),
            Kind::Ng { .. } => FileFormat::PcapNg,
        }
    }

    /// Link type of the file (pcapng: of its first interface, 1 if none yet).
    pub fn linktype(&self) -> u32 {
        match &self.kind {
            Kind::Classic { linktype, .. } => *linktype,
            Kind::Ng { interfaces, .. } => interfaces
                .first()
                .map(|i| i.linktype)
                .unwrap_or(LINKTYPE_ETHERNET),
        }
    }

    /// Next frame, `Ok(None)` at a clean end of file.
    pub fn next_packet(&mut self) -> Result<Option<PcapPacket>, PcapError> {
        match self.kind {
            Kind::Classic {
                resolution,
                swapped,
                ..
            } => self.next_classic(resolution, swapped),
            Kind::Ng { .. } => self.next_ng(),
        }
    }

    fn next_classic(
        &mut self,
        resolution: TsResolution,
        swapped: bool,
    ) -> Result<Option<PcapPacket>, PcapError> {
        let at = self.offset;
        let mut rec = [0u8; 16];
        if !read_full(&mut self.input, &mut rec, at, "record header")? {
            return Ok(None);
        }
        let secs = u32_at(&rec, 0, swapped) as u64;
        let sub = u32_at(&rec, 4, swapped) as u64;
        let incl = u32_at(&rec, 8, swapped);
        let orig = u32_at(&rec, 12, swapped);
        let sub_ns = match resolution {
            TsResolution::Micro => sub * 1000,
            TsResolution::Nano => sub,
        };
        if sub_ns >= 1_000_000_000 {
            return Err(PcapError::Corrupt {
                offset: at,
                reason: format!("sub-second timestamp {sub} out of range"),
            });
        }
        if incl > MAX_RECORD_LEN {
            return Err(PcapError::Corrupt {
                offset: at,
                reason: format!("record length {incl} exceeds {MAX_RECORD_LEN}"),
            });
        }
        let mut data = vec![0u8; incl as usize];
        if incl > 0 && !read_full(&mut self.input, &mut data, at, "record data")? {
            return Err(PcapError::Truncated {
                offset: at,
                what: "record data",
            });
        }
        self.offset = at + 16 + incl as u64;
        Ok(Some(PcapPacket {
            ts_ns: secs * 1_000_000_000 + sub_ns,
            data,
            orig_len: orig.max(incl),
        }))
    }

    /// Reads the rest of a Section Header Block starting at byte `at`, whose
    /// type and (still undecoded) length field `len_raw` were already read.
    /// Each section declares its own byte order and interface list.
    fn read_ng_shb(&mut self, at: u64, len_raw: [u8; 4]) -> Result<(), PcapError> {
        let mut bom = [0u8; 4];
        if !read_full(&mut self.input, &mut bom, at, "pcapng section header")? {
            return Err(PcapError::Truncated {
                offset: at,
                what: "pcapng section header",
            });
        }
        let swapped = match u32::from_le_bytes(bom) {
            PCAPNG_BOM => false,
            x if x == PCAPNG_BOM.swap_bytes() => true,
            other => {
                return Err(PcapError::Corrupt {
                    offset: at,
                    reason: format!("pcapng byte-order magic 0x{other:08x}"),
                })
            }
        };
        let total = u32_at(&len_raw, 0, swapped);
        if total < 28 || total & 3 != 0 || total > MAX_RECORD_LEN + 64 {
            return Err(PcapError::Corrupt {
                offset: at,
                reason: format!("pcapng section header length {total}"),
            });
        }
        let mut rest = vec![0u8; total as usize - 12];
        if !read_full(&mut self.input, &mut rest, at, "pcapng section header")? {
            return Err(PcapError::Truncated {
                offset: at,
                what: "pcapng section header",
            });
        }
        self.offset = at + total as u64;
        self.kind = Kind::Ng {
            swapped,
            interfaces: Vec::new(),
        };
        Ok(())
    }

    fn next_ng(&mut self) -> Result<Option<PcapPacket>, PcapError> {
        loop {
            let swapped = match &self.kind {
                Kind::Ng { swapped, .. } => *swapped,
                Kind::Classic { .. } => unreachable!("next_ng on a classic file"),
            };
            let at = self.offset;
            let mut head = [0u8; 8];
            if !read_full(&mut self.input, &mut head, at, "pcapng block header")? {
                return Ok(None);
            }
            let raw_type = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
            if raw_type == PCAPNG_SHB {
                self.read_ng_shb(at, [head[4], head[5], head[6], head[7]])?;
                continue;
            }
            let btype = u32_at(&head, 0, swapped);
            let total = u32_at(&head, 4, swapped);
            if total < 12 || total & 3 != 0 || total > MAX_RECORD_LEN + 64 {
                return Err(PcapError::Corrupt {
                    offset: at,
                    reason: format!("pcapng block length {total}"),
                });
            }
            let mut body = vec![0u8; total as usize - 8];
            if !read_full(&mut self.input, &mut body, at, "pcapng block")? {
                return Err(PcapError::Truncated {
                    offset: at,
                    what: "pcapng block",
                });
            }
            self.offset = at + total as u64;
            // body excludes the 8-byte head and includes the trailing length.
            let body = &body[..body.len() - 4];
            let Kind::Ng { interfaces, .. } = &mut self.kind else {
                unreachable!()
            };
            match btype {
                // Interface Description Block
                1 => {
                    if body.len() < 8 {
                        return Err(PcapError::Corrupt {
                            offset: at,
                            reason: "pcapng interface block too short".into(),
                        });
                    }
                    let linktype = u16_at(body, 0, swapped) as u32;
                    let units_per_sec = ng_tsresol(&body[8..], swapped);
                    interfaces.push(NgInterface {
                        linktype,
                        units_per_sec,
                    });
                }
                // Enhanced Packet Block
                6 => {
                    if body.len() < 20 {
                        return Err(PcapError::Corrupt {
                            offset: at,
                            reason: "pcapng packet block too short".into(),
                        });
                    }
                    let ifid = u32_at(body, 0, swapped) as usize;
                    let hi = u32_at(body, 4, swapped) as u64;
                    let lo = u32_at(body, 8, swapped) as u64;
                    let incl = u32_at(body, 12, swapped) as usize;
                    let orig = u32_at(body, 16, swapped);
                    if 20 + incl > body.len() {
                        return Err(PcapError::Corrupt {
                            offset: at,
                            reason: format!("pcapng captured length {incl} exceeds block"),
                        });
                    }
                    let iface =
                        interfaces
                            .get(ifid)
                            .copied()
                            .ok_or_else(|| PcapError::Corrupt {
                                offset: at,
                                reason: format!("pcapng packet on undeclared interface {ifid}"),
                            })?;
                    let units = (hi << 32) | lo;
                    let ts_ns =
                        (units as u128 * 1_000_000_000u128 / iface.units_per_sec as u128) as u64;
                    return Ok(Some(PcapPacket {
                        ts_ns,
                        data: body[20..20 + incl].to_vec(),
                        orig_len: orig.max(incl as u32),
                    }));
                }
                // Simple Packet Block: no timestamp, captured = min(orig, block).
                3 => {
                    if body.len() < 4 {
                        return Err(PcapError::Corrupt {
                            offset: at,
                            reason: "pcapng simple packet block too short".into(),
                        });
                    }
                    let orig = u32_at(body, 0, swapped);
                    let incl = (orig as usize).min(body.len() - 4);
                    return Ok(Some(PcapPacket {
                        ts_ns: 0,
                        data: body[4..4 + incl].to_vec(),
                        orig_len: orig,
                    }));
                }
                // Name resolution, statistics, custom, ...: not needed.
                _ => {}
            }
        }
    }
}

/// `if_tsresol` option (code 9) of an IDB; default 10^-6.
fn ng_tsresol(mut opts: &[u8], swapped: bool) -> u64 {
    while opts.len() >= 4 {
        let code = u16_at(opts, 0, swapped);
        let len = u16_at(opts, 2, swapped) as usize;
        let padded = (len + 3) & !3;
        if code == 0 || 4 + len > opts.len() {
            break;
        }
        if code == 9 && len >= 1 {
            let v = opts[4];
            let exp = (v & 0x7f) as u32;
            let units = if v & 0x80 != 0 {
                2u64.checked_pow(exp)
            } else {
                10u64.checked_pow(exp)
            };
            return units.filter(|&u| u > 0).unwrap_or(1_000_000);
        }
        if 4 + padded > opts.len() {
            break;
        }
        opts = &opts[4 + padded..];
    }
    1_000_000
}

impl<R: Read> Iterator for PcapReader<R> {
    type Item = Result<PcapPacket, PcapError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_packet() {
            Ok(Some(p)) => Some(Ok(p)),
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Everything in a capture file, read at once.
#[derive(Debug, Clone)]
pub struct Capture {
    /// Container format of the file.
    pub format: FileFormat,
    /// Link type (1 = Ethernet).
    pub linktype: u32,
    /// The frames in file order.
    pub packets: Vec<PcapPacket>,
}

/// Reads a whole pcap/pcapng file. Errors name the file and the offset.
pub fn read_pcap(path: impl AsRef<Path>) -> Result<Capture, PcapError> {
    let path = path.as_ref();
    let mut r = PcapReader::open(path).map_err(|e| match e {
        PcapError::Io(io) => PcapError::Io(io::Error::new(
            io.kind(),
            format!("{}: {io}", path.display()),
        )),
        other => other,
    })?;
    let mut packets = Vec::new();
    while let Some(p) = r.next_packet()? {
        packets.push(p);
    }
    Ok(Capture {
        format: r.format(),
        linktype: r.linktype(),
        packets,
    })
}

/// Convenience for assertions: the frames of a pcap file, bytes only.
pub fn read_frames(path: impl AsRef<Path>) -> Result<Vec<Vec<u8>>, PcapError> {
    Ok(read_pcap(path)?
        .packets
        .into_iter()
        .map(|p| p.data)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(res: TsResolution) -> Vec<PcapPacket> {
        let pkts = vec![
            PcapPacket::new(1_700_000_000_123_456_789, vec![1, 2, 3]),
            PcapPacket::new(1_700_000_001_000_000_001, vec![0xff; 1500]),
            PcapPacket::new(5, vec![]),
        ];
        let mut w = PcapWriter::new(Vec::new(), res).unwrap();
        for p in &pkts {
            w.write_packet(p).unwrap();
        }
        let bytes = w.finish().unwrap();
        let r = PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(r.format(), FileFormat::Classic(res));
        assert_eq!(r.linktype(), LINKTYPE_ETHERNET);
        r.map(|p| p.unwrap()).collect()
    }

    #[test]
    fn nanosecond_roundtrip_is_exact() {
        let got = roundtrip(TsResolution::Nano);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].ts_ns, 1_700_000_000_123_456_789);
        assert_eq!(got[1].ts_ns, 1_700_000_001_000_000_001);
        assert_eq!(got[1].data, vec![0xff; 1500]);
        assert_eq!(got[2].data, Vec::<u8>::new());
    }

    #[test]
    fn microsecond_roundtrip_truncates_to_us() {
        let got = roundtrip(TsResolution::Micro);
        assert_eq!(got[0].ts_ns, 1_700_000_000_123_456_000);
        assert_eq!(got[1].ts_ns, 1_700_000_001_000_000_000);
        assert_eq!(got[0].data, vec![1, 2, 3]);
        assert_eq!(got[0].orig_len, 3);
    }

    #[test]
    fn header_bytes_match_libpcap_layout() {
        let bytes = PcapWriter::new(Vec::new(), TsResolution::Micro)
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(
            bytes,
            [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0]
        );
    }

    #[test]
    fn big_endian_file_is_read() {
        let mut f = Vec::new();
        f.extend_from_slice(&MAGIC_NSEC.to_be_bytes());
        f.extend_from_slice(&2u16.to_be_bytes());
        f.extend_from_slice(&4u16.to_be_bytes());
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&65535u32.to_be_bytes());
        f.extend_from_slice(&1u32.to_be_bytes());
        f.extend_from_slice(&10u32.to_be_bytes());
        f.extend_from_slice(&7u32.to_be_bytes());
        f.extend_from_slice(&2u32.to_be_bytes());
        f.extend_from_slice(&60u32.to_be_bytes());
        f.extend_from_slice(&[0xaa, 0xbb]);
        let mut r = PcapReader::new(&f[..]).unwrap();
        assert_eq!(r.format(), FileFormat::Classic(TsResolution::Nano));
        let p = r.next_packet().unwrap().unwrap();
        assert_eq!(p.ts_ns, 10_000_000_007);
        assert_eq!(p.data, vec![0xaa, 0xbb]);
        assert_eq!(p.orig_len, 60);
        assert!(r.next_packet().unwrap().is_none());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(matches!(
            PcapReader::new(&b"hello world, no pcap here"[..]),
            Err(PcapError::BadMagic(_))
        ));
        assert!(matches!(
            PcapReader::new(&[][..]),
            Err(PcapError::Truncated { .. })
        ));
        assert!(matches!(
            PcapReader::new(&MAGIC_USEC.to_le_bytes()[..]),
            Err(PcapError::Truncated { .. })
        ));
        // Record cut short.
        let mut w = PcapWriter::new(Vec::new(), TsResolution::Micro).unwrap();
        w.write_frame(1, &[9; 100]).unwrap();
        let bytes = w.finish().unwrap();
        let cut = &bytes[..bytes.len() - 10];
        let mut r = PcapReader::new(cut).unwrap();
        let err = r.next_packet().unwrap_err();
        assert!(
            matches!(err, PcapError::Truncated { offset: 24, .. }),
            "{err}"
        );
        // Absurd record length.
        let mut bad = bytes.clone();
        bad[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut r = PcapReader::new(&bad[..]).unwrap();
        assert!(matches!(
            r.next_packet(),
            Err(PcapError::Corrupt { offset: 24, .. })
        ));
        // Iterator stops after an error.
        let r = PcapReader::new(&bad[..]).unwrap();
        assert_eq!(r.count(), 1);
    }

    fn ng_block(btype: u32, body: &[u8]) -> Vec<u8> {
        let padded = (body.len() + 3) & !3;
        let total = (12 + padded) as u32;
        let mut b = Vec::new();
        b.extend_from_slice(&btype.to_le_bytes());
        b.extend_from_slice(&total.to_le_bytes());
        b.extend_from_slice(body);
        b.resize(8 + padded, 0);
        b.extend_from_slice(&total.to_le_bytes());
        b
    }

    #[test]
    fn pcapng_enhanced_packets_are_read() {
        let mut f = Vec::new();
        let mut shb = Vec::new();
        shb.extend_from_slice(&PCAPNG_BOM.to_le_bytes());
        shb.extend_from_slice(&1u16.to_le_bytes());
        shb.extend_from_slice(&0u16.to_le_bytes());
        shb.extend_from_slice(&u64::MAX.to_le_bytes());
        f.extend(ng_block(PCAPNG_SHB, &shb));
        let mut idb = Vec::new();
        idb.extend_from_slice(&1u16.to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&0u32.to_le_bytes());
        // if_tsresol = 9 (ns), then opt_endofopt
        idb.extend_from_slice(&9u16.to_le_bytes());
        idb.extend_from_slice(&1u16.to_le_bytes());
        idb.extend_from_slice(&[9, 0, 0, 0]);
        idb.extend_from_slice(&[0, 0, 0, 0]);
        f.extend(ng_block(1, &idb));
        let ts: u64 = 1_700_000_000_000_000_042;
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&5u32.to_le_bytes());
        epb.extend_from_slice(&5u32.to_le_bytes());
        epb.extend_from_slice(&[1, 2, 3, 4, 5]);
        f.extend(ng_block(6, &epb));
        f.extend(ng_block(5, &[0; 8])); // statistics block: skipped
        let mut r = PcapReader::new(&f[..]).unwrap();
        assert_eq!(r.format(), FileFormat::PcapNg);
        let p = r.next_packet().unwrap().unwrap();
        assert_eq!(p.ts_ns, ts);
        assert_eq!(p.data, vec![1, 2, 3, 4, 5]);
        assert_eq!(r.linktype(), LINKTYPE_ETHERNET);
        assert!(r.next_packet().unwrap().is_none());
    }

    #[test]
    fn file_roundtrip_via_paths() {
        let dir = std::env::temp_dir().join(format!("testkit-pcap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.pcap");
        let pkts = vec![PcapPacket::new(3_000_000_000, vec![7; 64])];
        write_pcap(&path, TsResolution::Nano, &pkts).unwrap();
        let cap = read_pcap(&path).unwrap();
        assert_eq!(cap.packets, pkts);
        assert_eq!(read_frames(&path).unwrap(), vec![vec![7; 64]]);
        let missing = read_pcap(dir.join("missing.pcap")).unwrap_err();
        assert!(missing.to_string().contains("missing.pcap"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
