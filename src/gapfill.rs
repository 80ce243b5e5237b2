//! Gap fill by re-request, the control side: it runs on the main lcore
//! (never on a worker) and talks to the tx stage through two bounded
//! lock-free queues (`Shared::fill_asks`, `Shared::refills`).
//!
//! Per stream with `--mold-request`, one kernel UDP socket (non-blocking,
//! ephemeral port): a MoldUDP64 request packet (10-byte session, u64 BE
//! sequence, u16 BE count) goes to the server; its answers, ordinary
//! MoldUDP64 packets, come back to that socket, are framed as if they came
//! on leg 0 (`wire::build::udp_frame`, correct checksums, so the rewriter
//! handles them like any copy) and handed to the tx stage, which puts them
//! in place (`Engine::fill`).

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use config::AppConfig;
use dataplane::dpdk::Mempool;
use dataplane::seq::{Extract, SeqSpec};
use dataplane::wire::build::udp_frame;
use dataplane::wire::{parse_frame, L4Check};
use dataplane::worker::{FillAsk, Refill, Shared};
use serde_json::{json, Value};

/// Requests in flight at most (all streams): more are refused, counted,
/// and their ranges time out.
pub const MAX_OUTSTANDING: usize = 64;
/// Requests sent per second at most (token bucket) ...
pub const RATE_PER_S: f64 = 1_000.0;
/// ... with bursts of this many.
pub const BURST: f64 = 32.0;
/// How often the main lcore services the request path between its ticks.
pub const FAST: Duration = Duration::from_micros(250);
/// Datagrams read per socket per service call.
const READS: usize = 256;

/// A token bucket: `take` is true while the rate allows one more.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + dt * RATE_PER_S).min(BURST);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One stream's request path.
#[derive(Debug)]
struct Path {
    sock: UdpSocket,
    server: SocketAddr,
    /// Where its retransmissions are framed to (leg 0's group:port).
    leg0: SocketAddr,
    seq: SeqSpec,
    hold: Duration,
}

/// A request in flight.
#[derive(Clone, Copy, Debug)]
struct InFlight {
    stream: usize,
    seq: u64,
    count: u64,
    until: Instant,
    sent_at: Instant,
    answered: bool,
}

/// What the request path did (reported in the stats JSON as `gap_fill`).
#[derive(Clone, Copy, Debug, Default)]
pub struct FillFigures {
    /// Request packets sent.
    pub requests_sent: u64,
    /// Asks for a range already in flight (not sent again).
    pub duplicates: u64,
    /// Refused by the rate limit.
    pub rate_limited: u64,
    /// Refused because MAX_OUTSTANDING were in flight.
    pub over_bound: u64,
    /// Sends the kernel refused.
    pub send_errors: u64,
    /// Datagrams received from the servers.
    pub responses: u64,
    /// Received datagrams that are no MoldUDP64 packet (dropped).
    pub malformed: u64,
    /// Retransmissions dropped for want of an mbuf or queue room.
    pub dropped: u64,
    /// Requests answered (first retransmission of its range received).
    pub answered: u64,
    /// Sum and largest of request -> first answer, in microseconds (wall
    /// clock, on the main lcore).
    pub rtt_sum_us: u64,
    /// See `rtt_sum_us`.
    pub rtt_max_us: u64,
}

/// The main lcore's gap-fill requester.
#[derive(Debug)]
pub struct Requester {
    paths: Vec<Option<Path>>,
    inflight: Vec<InFlight>,
    bucket: Bucket,
    /// Counters.
    pub figures: FillFigures,
}

/// The MoldUDP64 request packet for `count` messages from `seq`.
pub fn request_packet(session: &[u8; 10], seq: u64, count: u64) -> [u8; 20] {
    let mut p = [0u8; 20];
    p[..10].copy_from_slice(session);
    p[10..18].copy_from_slice(&seq.to_be_bytes());
    p[18..].copy_from_slice(&(count.min(u64::from(u16::MAX - 1)) as u16).to_be_bytes());
    p
}

impl Requester {
    /// The sockets of every stream with `--mold-request`; an error is one
    /// line naming the stream.
    pub fn new(cfg: &AppConfig) -> Result<Requester, String> {
        let mut paths = Vec::with_capacity(cfg.streams.len());
        for s in &cfg.streams {
            let Some(server) = s.mold_request else {
                paths.push(None);
                continue;
            };
            let bind: SocketAddr = if server.is_ipv4() {
                "0.0.0.0:0".parse().map_err(|e| format!("{e}"))?
            } else {
                "[::]:0".parse().map_err(|e| format!("{e}"))?
            };
            let sock = UdpSocket::bind(bind)
                .and_then(|u| u.set_nonblocking(true).map(|()| u))
                .map_err(|e| format!("stream {}: --mold-request {server}: {e}", s.name))?;
            paths.push(Some(Path {
                sock,
                server,
                leg0: s.legs[0],
                seq: s.seq,
                hold: s.gap_fill_timeout,
            }));
        }
        Ok(Requester {
            paths,
            inflight: Vec::with_capacity(MAX_OUTSTANDING),
            bucket: Bucket {
                tokens: BURST,
                at: Instant::now(),
            },
            figures: FillFigures::default(),
        })
    }

    /// Whether any stream asks for gap fill.
    pub fn is_empty(&self) -> bool {
        self.paths.iter().all(Option::is_none)
    }

    /// The main lcore's idle time between two of its ticks: with gap fill
    /// configured, the request path is serviced every [`FAST`] meanwhile
    /// (a request waits at most that long on the main lcore), else a sleep.
    pub fn idle(&mut self, shared: &Shared, pool: &Mempool<'_>, total: Duration) {
        if self.is_empty() {
            std::thread::sleep(total);
            return;
        }
        let end = Instant::now() + total;
        loop {
            self.service(shared, pool);
            let now = Instant::now();
            if now >= end {
                return;
            }
            std::thread::sleep(FAST.min(end - now));
        }
    }

    /// Sends the requests the tx stage asked for and hands the answers in.
    pub fn service(&mut self, shared: &Shared, pool: &Mempool<'_>) {
        if self.is_empty() {
            return;
        }
        let now = Instant::now();
        self.inflight.retain(|f| f.until > now);
        while let Some(ask) = shared.fill_asks.pop() {
            self.ask(ask, now);
        }
        for s in 0..self.paths.len() {
            self.receive(s, shared, pool);
        }
    }

    fn ask(&mut self, ask: FillAsk, now: Instant) {
        let Some(Some(p)) = self.paths.get(ask.stream) else {
            return;
        };
        let f = &mut self.figures;
        if self
            .inflight
            .iter()
            .any(|i| i.stream == ask.stream && i.seq == ask.seq && i.count == ask.count)
        {
            f.duplicates += 1;
            return;
        }
        if self.inflight.len() >= MAX_OUTSTANDING {
            f.over_bound += 1;
            return;
        }
        if !self.bucket.take(now) {
            f.rate_limited += 1;
            return;
        }
        let pkt = request_packet(&ask.session, ask.seq, ask.count);
        match p.sock.send_to(&pkt, p.server) {
            Ok(_) => {
                f.requests_sent += 1;
                self.inflight.push(InFlight {
                    stream: ask.stream,
                    seq: ask.seq,
                    count: ask.count,
                    until: now + p.hold,
                    sent_at: now,
                    answered: false,
                });
            }
            Err(e) => {
                f.send_errors += 1;
                log::debug!("gap fill request to {}: {e}", p.server);
            }
        }
    }

    fn receive(&mut self, stream: usize, shared: &Shared, pool: &Mempool<'_>) {
        let Some(Some(p)) = self.paths.get(stream) else {
            return;
        };
        let mut buf = [0u8; 2048];
        for _ in 0..READS {
            let Ok((n, from)) = p.sock.recv_from(&mut buf) else {
                return;
            };
            let f = &mut self.figures;
            f.responses += 1;
            let payload = &buf[..n];
            let Ok(sample) = p.seq.extract(payload) else {
                f.malformed += 1;
                continue;
            };
            if let Some(i) = self.inflight.iter_mut().find(|i| {
                !i.answered
                    && i.stream == stream
                    && sample.value >= i.seq
                    && sample.value < i.seq.saturating_add(i.count)
            }) {
                i.answered = true;
                let us = i.sent_at.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
                f.answered += 1;
                f.rtt_sum_us += us;
                f.rtt_max_us = f.rtt_max_us.max(us);
            }
            let Some(frame) = udp_frame(from, p.leg0, payload) else {
                f.malformed += 1;
                continue;
            };
            let Ok(info) = parse_frame(&frame, L4Check::Software) else {
                f.malformed += 1;
                continue;
            };
            let Some(mut m) = pool.alloc() else {
                f.dropped += 1;
                continue;
            };
            match m.append(frame.len()) {
                Some(b) => b.copy_from_slice(&frame),
                None => {
                    f.dropped += 1;
                    continue;
                }
            }
            m.set_frame_offsets(info.offsets);
            let r = Refill {
                stream,
                sample,
                mbuf: m,
            };
            if shared.push_refill(r).is_err() {
                f.dropped += 1;
            }
        }
    }

    /// The figures for the stats JSON.
    pub fn json(&self, shared: &Shared) -> Value {
        let f = self.figures;
        json!({
            "requests_sent": f.requests_sent,
            "duplicates": f.duplicates,
            "rate_limited": f.rate_limited,
            "over_bound": f.over_bound,
            "send_errors": f.send_errors,
            "responses": f.responses,
            "malformed": f.malformed,
            "dropped": f.dropped,
            "asks_lost": shared.fill_asks_lost.load(std::sync::atomic::Ordering::Relaxed),
            "in_flight": self.inflight.len(),
            "answered": f.answered,
            "rtt_ms_mean": if f.answered > 0 { f.rtt_sum_us as f64 / f.answered as f64 / 1e3 } else { 0.0 },
            "rtt_ms_max": f.rtt_max_us as f64 / 1e3,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_packet_layout() {
        let p = request_packet(b"SESSION001", 0x0102_0304_0506_0708, 3);
        assert_eq!(&p[..10], b"SESSION001");
        assert_eq!(&p[10..18], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&p[18..], &[0, 3]);
        // A count is never 0xFFFF (End of Session) or beyond.
        let p = request_packet(b"SESSION001", 1, 1 << 20);
        assert_eq!(&p[18..], &[0xff, 0xfe]);
    }

    #[test]
    fn bucket_limits_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket {
            tokens: BURST,
            at: t0,
        };
        let burst = (0..100).filter(|_| b.take(t0)).count();
        assert_eq!(burst, BURST as usize);
        // 10 ms later: 10 more at 1000/s.
        let t1 = t0 + Duration::from_micros(10_500);
        let more = (0..100).filter(|_| b.take(t1)).count();
        assert_eq!(more, 10);
    }
}
