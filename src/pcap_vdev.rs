//! A check of `net_pcap` vdevs with `infinite_rx=1` before their ports are
//! set up, for what DPDK 22.11's driver handles badly.
//!
//! In that mode the driver loads the whole file into mbufs at rx queue
//! setup and refuses a frame that needs more than one mbuf, but only after
//! taking mbufs it never gives back; the half set-up port then cannot be
//! closed, so EAL cleanup is skipped and the runtime directory stays. A
//! file with a frame larger than one mbuf is therefore refused here, as
//! bad input, before any port exists.

use std::io::Read;
use std::path::Path;

/// One vdev of the EAL arguments with `infinite_rx=1` and its file.
struct InfiniteRx<'a> {
    name: &'a str,
    file: &'a str,
}

/// The `--vdev` values of `eal_args` (`--vdev X`, `--vdev=X`).
fn vdevs(eal_args: &[String]) -> impl Iterator<Item = &str> {
    let mut it = eal_args.iter().map(String::as_str).peekable();
    std::iter::from_fn(move || loop {
        let a = it.next()?;
        if let Some(v) = a.strip_prefix("--vdev=") {
            return Some(v);
        }
        if a == "--vdev" {
            if let Some(v) = it.next() {
                return Some(v);
            }
        }
    })
}

fn infinite_rx(dev: &str) -> Option<InfiniteRx<'_>> {
    let mut parts = dev.split(',');
    let name = parts.next()?;
    if !name.starts_with("net_pcap") {
        return None;
    }
    let mut file = None;
    let mut infinite = false;
    for kv in parts {
        match kv.split_once('=') {
            Some(("rx_pcap", f)) => file = Some(f),
            Some(("infinite_rx", v)) => infinite = v == "1",
            _ => {}
        }
    }
    infinite.then_some(InfiniteRx { name, file: file? })
}

/// The largest captured frame of a classic pcap file and its 1-based
/// index, or None when the file is not one this reader knows (pcapng, a
/// read error: the driver will say).
fn largest_frame(path: &Path) -> Option<(u32, u64)> {
    let mut f = std::io::BufReader::new(std::fs::File::open(path).ok()?);
    let mut head = [0u8; 24];
    f.read_exact(&mut head).ok()?;
    let magic = [head[0], head[1], head[2], head[3]];
    let le = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => return None,
    };
    let word = |b: &[u8]| {
        let w = [b[0], b[1], b[2], b[3]];
        if le {
            u32::from_le_bytes(w)
        } else {
            u32::from_be_bytes(w)
        }
    };
    let (mut largest, mut at, mut n) = (0u32, 0u64, 0u64);
    let mut rec = [0u8; 16];
    while f.read_exact(&mut rec).is_ok() {
        n += 1;
        let caplen = word(&rec[8..12]);
        if caplen > largest {
            (largest, at) = (caplen, n);
        }
        std::io::copy(&mut (&mut f).take(u64::from(caplen)), &mut std::io::sink()).ok()?;
    }
    Some((largest, at))
}

/// Refuses an `infinite_rx=1` pcap vdev whose file holds a frame larger
/// than `max_frame` bytes (what one mbuf of the pool holds).
pub fn check(eal_args: &[String], max_frame: u32) -> Result<(), String> {
    for dev in vdevs(eal_args).filter_map(infinite_rx) {
        if let Some((len, at)) = largest_frame(Path::new(dev.file)) {
            if len > max_frame {
                return Err(format!(
                    "--vdev {}: infinite_rx=1 takes frames of at most {max_frame} bytes (one mbuf), \
                     but frame {at} of {} has {len}; drop infinite_rx=1 for this file",
                    dev.name,
                    model::quoted(dev.file)
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finds_infinite_pcap_vdevs_in_both_spellings() {
        let a = args(&[
            "prog",
            "--vdev=net_pcap0,rx_pcap=/a.pcap,infinite_rx=1",
            "--vdev",
            "net_pcap1,infinite_rx=1,rx_pcap=/b.pcap",
            "--vdev=net_pcap2,rx_pcap=/c.pcap",
            "--vdev=net_null0,infinite_rx=1",
        ]);
        let found: Vec<(&str, &str)> = vdevs(&a)
            .filter_map(infinite_rx)
            .map(|d| (d.name, d.file))
            .collect();
        assert_eq!(found, [("net_pcap0", "/a.pcap"), ("net_pcap1", "/b.pcap")]);
    }

    #[test]
    fn a_jumbo_frame_is_refused_naming_it() {
        let dir = std::env::temp_dir().join(format!("pcapvdev-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("jumbo.pcap");
        let mut b = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        b.extend([0; 8]);
        b.extend(65535u32.to_le_bytes());
        b.extend(1u32.to_le_bytes());
        for len in [60u32, 9000, 100] {
            b.extend([0; 8]);
            b.extend(len.to_le_bytes());
            b.extend(len.to_le_bytes());
            b.extend(vec![0; len as usize]);
        }
        std::fs::write(&file, b).unwrap();
        assert_eq!(largest_frame(&file), Some((9000, 2)));
        let a = args(&[
            "prog",
            &format!("--vdev=net_pcap0,rx_pcap={},infinite_rx=1", file.display()),
        ]);
        let e = check(&a, 2048).unwrap_err();
        assert!(e.contains("frame 2") && e.contains("9000"), "{e}");
        assert!(check(&a, 9000).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
