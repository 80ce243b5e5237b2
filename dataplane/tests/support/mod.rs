//! What the merge property tests share: the one description of a copy
//! arriving at the engine, and the order the engine sees them in.

/// One copy of a generated packet as it reaches the engine: when, on which
/// leg, which packet (an index into the test's packet list) and how it is
/// judged. A heartbeat (a MoldUDP64-style keep-alive) carries the index of
/// the packet it precedes and no data.
#[derive(Clone, Copy, Debug)]
pub struct Copy {
    pub t: u64,
    pub leg: usize,
    pub idx: usize,
    pub corrupt: bool,
    pub heartbeat: bool,
}

impl Copy {
    /// A data copy (not a heartbeat).
    pub fn data(t: u64, leg: usize, idx: usize, corrupt: bool) -> Copy {
        Copy {
            t,
            leg,
            idx,
            corrupt,
            heartbeat: false,
        }
    }

    /// An intact copy of its packet's data: what the union of the legs is
    /// made of (a heartbeat carries none, a corrupt copy must not count).
    pub fn intact_data(&self) -> bool {
        !self.corrupt && !self.heartbeat
    }
}

/// Puts copies in arrival order, ties broken by leg then packet, so a
/// generated case replays the same way every time.
pub fn in_arrival_order(copies: &mut [Copy]) {
    copies.sort_by_key(|c| (c.t, c.leg, c.idx));
}

/// The invariants every generated case is held to before its own: each
/// copy's handle (its index in `copies`) came back exactly once, no corrupt
/// copy went out, and the output is in strictly increasing packet order (no
/// duplicate). Gives the packet indices sent, in order, or which one broke.
pub fn sent_in_order(
    copies: &[Copy],
    rec: &dataplane::merge::record::Recorder<u64>,
) -> Result<Vec<usize>, &'static str> {
    let mut back = vec![0u8; copies.len()];
    for &h in rec.returned() {
        back[h as usize] += 1;
    }
    if !back.iter().all(|&b| b == 1) {
        return Err("a handle not back exactly once");
    }
    if rec.sent.iter().any(|x| copies[x.handle as usize].corrupt) {
        return Err("corrupt copy sent");
    }
    let sent: Vec<usize> = rec
        .sent
        .iter()
        .map(|x| copies[x.handle as usize].idx)
        .collect();
    if !sent.windows(2).all(|w| w[0] < w[1]) {
        return Err("output out of order or duplicated");
    }
    Ok(sent)
}
