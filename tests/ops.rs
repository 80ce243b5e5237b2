//! Operations interfaces against a running binary: the Prometheus endpoint
//! (scraped with curl, checked with promtool), the telemetry commands
//! (through DPDK's own dpdk-telemetry.py client), capture with dpdk-dumpcap
//! (checked with tshark) and stream health.
//!
//! Nothing here waits for a time: each test polls the binary's state
//! (metrics, telemetry replies) until it shows what the case defines, with
//! a generous hang guard that fails the test rather than asserting a time.

#[allow(dead_code)]
mod common;
mod prereq;
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{serial, BIN};
use prereq::{
    require, OPS_LIVE as LIVE, OPS_METRICS as METRICS, OPS_SYSTEMD as SYSTEMD,
    OPS_TELEMETRY as TELEMETRY,
};
use support::netns::Veth;
use support::{
    drain_pipe, eal_args, eal_args_with, eal_memory_args, run_with_stdin, start_piped, telemetry,
    test_stream_spec, workdir, SHARED_INPUT_PORTS, TEST_STREAM,
};
use testkit::pcap::{PcapWriter, TsResolution};
use testkit::{paced, Leg, LegPacket, Scenario};

/// Waits for `child` within the hang guard; its exit code.
fn wait_bounded(child: &mut Child, what: &str) -> Option<i32> {
    match support::wait_bounded(child, HANG_GUARD) {
        Some(st) => st.code(),
        None => panic!("hang guard: {what} still running after {HANG_GUARD:?}: killed"),
    }
}

/// How long any awaited state may take before the test gives up.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// Packets per leg in the finite scenarios.
const PACKETS: u64 = 1000;

/// A scenario with one RTP stream, every packet on both legs.
fn both_legs(dir: &Path, n: u64) -> (PathBuf, PathBuf) {
    let mut sc = Scenario::new(test_stream_spec());
    sc.primary = paced(0..n, 0, 100_000);
    sc.secondary = paced(0..n, 0, 100_000);
    sc.write_to_dir(dir).unwrap()
}

/// A binary running until told to stop, its stdout collected as it comes.
struct Live {
    child: Child,
    prefix: String,
    stdout: Arc<Mutex<String>>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Live {
    /// Starts the binary on pcap vdevs reading `inputs` (ports 0, 1) and
    /// writing `out` (port 2); `app` are the options after `--`.
    fn start(tag: &str, inputs: (&Path, &Path), out: &Path, app: &[&str]) -> Live {
        let vdevs = [
            format!("net_pcap0,rx_pcap={}", inputs.0.display()),
            format!("net_pcap1,rx_pcap={}", inputs.1.display()),
            format!("net_pcap2,tx_pcap={}", out.display()),
        ];
        Live::spawn(tag, &eal_memory_args(), &vdevs, app)
    }

    /// Starts the binary with EAL memory options `memory`, one `--vdev`
    /// per `vdevs` entry, the test stream and `app`.
    fn spawn(tag: &str, memory: &[String], vdevs: &[String], app: &[&str]) -> Live {
        Live::spawn_on(tag, None, memory, vdevs, app)
    }

    /// [`Live::spawn`] on EAL `--lcores` `lcores` instead of `-l 0-1`.
    fn spawn_on(
        tag: &str,
        lcores: Option<&str>,
        memory: &[String],
        vdevs: &[String],
        app: &[&str],
    ) -> Live {
        let prefix = format!("mfops{tag}{}", std::process::id());
        let mut args: Vec<String> = eal_args_with(&prefix, memory);
        if let Some(l) = lcores {
            args.splice(0..2, ["--lcores".to_string(), l.to_string()]);
        }
        for v in vdevs {
            args.push("--vdev".into());
            args.push(v.clone());
        }
        args.push("--".into());
        args.extend(
            ["--stream", TEST_STREAM, "--out-src-ip", "10.9.9.9"]
                .iter()
                .map(|s| s.to_string()),
        );
        args.extend(app.iter().map(|s| s.to_string()));
        let mut child = start_piped(Command::new(BIN).args(&args));
        let stdout = Arc::new(Mutex::new(String::new()));
        let sink = stdout.clone();
        let pipe = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let stderr = Some(drain_pipe(child.stderr.take().expect("stderr")));
        Live {
            child,
            prefix,
            stdout,
            stderr,
        }
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Polls `probe` until it gives a value (the binary must stay up).
    fn until<T>(&mut self, what: &str, mut probe: impl FnMut(&mut Live) -> Option<T>) -> T {
        let t0 = Instant::now();
        loop {
            if let Some(v) = probe(self) {
                return v;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "binary exited ({st}) while waiting for {what}\n{}",
                    self.stdout()
                );
            }
            assert!(
                t0.elapsed() < HANG_GUARD,
                "hang guard: no {what} within {HANG_GUARD:?}\n{}",
                self.stdout()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The metrics URL the binary printed.
    fn metrics_url(&mut self) -> String {
        self.until("Metrics: line", |l| {
            l.stdout()
                .lines()
                .find_map(|x| x.strip_prefix("Metrics: ").map(str::to_string))
        })
    }

    /// SIGTERM, then the exit code and both outputs.
    fn stop(mut self) -> (Option<i32>, String, String) {
        let pid = self.child.id().to_string();
        // Through kill(1), so the test needs no unsafe code.
        let st = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(st.success());
        let code = wait_bounded(&mut self.child, "mcast-failover after SIGTERM");
        let err = self.stderr.take().unwrap().join().unwrap_or_default();
        let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{}", self.prefix));
        (code, self.stdout(), err)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The page at `url`, fetched with curl (`None` unless HTTP 200).
fn curl(url: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["--silent", "--fail", "--max-time", "30", url])
        .output()
        .expect("run curl");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The value of the sample line `series` (name with labels) on `page`.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Runs promtool `args` with `input` on stdin; returns (success, output).
fn promtool(args: &[&str], input: &str) -> (bool, String) {
    let out = run_with_stdin(Command::new("promtool").args(args), input);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

const STREAM: &str =
    "{stream=\"stream1\",output=\"239.10.0.1:5004\",groups=\"239.1.0.1:5000,239.2.0.1:5000\"}";

#[test]
fn metrics_scraped_with_curl_pass_promtool_and_count_the_traffic() {
    require(&METRICS);
    let _turn = serial();
    let dir = workdir("ops-metrics");
    let (pri, sec) = both_legs(&dir, PACKETS);
    let out = dir.join("out.pcap");
    let mut live = Live::start(
        "metrics",
        (&pri, &sec),
        &out,
        &["--metrics-listen", "127.0.0.1:0"],
    );
    let url = live.metrics_url();
    let sent = format!("mcast_failover_stream_sent_total{STREAM}");
    let page = live.until("every packet counted sent", |_| {
        let p = curl(&url)?;
        (sample(&p, &sent)? == PACKETS as f64).then_some(p)
    });
    let (ok, lint) = promtool(&["check", "metrics"], &page);
    assert!(ok, "promtool check metrics:\n{lint}\n{page}");

    // Per leg, with group and port labels.
    for (leg, group, port) in [(0, "239.1.0.1:5000", 0), (1, "239.2.0.1:5000", 1)] {
        let series = format!(
            "mcast_failover_leg_received_total{{stream=\"stream1\",leg=\"{leg}\",group=\"{group}\",port=\"{port}\"}}"
        );
        assert_eq!(
            sample(&page, &series),
            Some(PACKETS as f64),
            "{series}\n{page}"
        );
    }
    assert_eq!(
        sample(
            &page,
            "mcast_failover_input_packets_total{port=\"0\",role=\"primary\"}"
        ),
        Some(PACKETS as f64)
    );
    assert_eq!(
        sample(&page, "mcast_failover_output_packets_total{port=\"2\"}"),
        Some(PACKETS as f64)
    );
    // The residence histogram holds every sent packet, cumulatively.
    assert_eq!(
        sample(&page, "mcast_failover_residence_seconds_count"),
        Some(PACKETS as f64)
    );
    assert_eq!(
        sample(
            &page,
            "mcast_failover_residence_seconds_bucket{le=\"+Inf\"}"
        ),
        Some(PACKETS as f64)
    );
    let buckets: Vec<f64> = page
        .lines()
        .filter(|l| l.starts_with("mcast_failover_residence_seconds_bucket"))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(buckets.len() > 20, "real bucket edges, not a summary");
    assert!(
        buckets.windows(2).all(|w| w[0] <= w[1]),
        "cumulative buckets"
    );
    assert!(page.contains("mcast_failover_build_info{version=\""));
    assert!(sample(&page, "mcast_failover_mempool_size{pool=\"mf_pool\"}").unwrap() > 0.0);

    // A client sending an endless header is answered 431, not served
    // forever; the endpoint keeps serving.
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/metrics")
        .to_string();
    let mut bad = TcpStream::connect(&addr).unwrap();
    let mut junk = b"GET /metrics HTTP/1.1\r\nX-Junk: ".to_vec();
    junk.extend(std::iter::repeat_n(b'x', 64 * 1024));
    let _ = bad.write_all(&junk);
    let mut answer = String::new();
    let _ = bad.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "oversized head: {answer:?}"
    );
    // A client that connects and says nothing does not block a scrape.
    let _silent = TcpStream::connect(&addr).unwrap();
    assert!(
        curl(&url).is_some(),
        "scrape while a silent client is connected"
    );

    let (code, stdout, stderr) = live.stop();
    assert_eq!(code, Some(0), "exit after SIGTERM\n{stdout}\n{stderr}");
    assert!(stdout.contains("(no leak)"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The alert rules the README shows are valid Prometheus rules.
#[test]
fn readme_alert_rules_pass_promtool() {
    require(&METRICS);
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("```yaml\ngroups:")
        .expect("README has an alert rules block (```yaml groups:)")
        + "```yaml\n".len();
    let len = readme[start..].find("```").expect("end of the rules block");
    let rules = &readme[start..start + len];
    for alert in [
        "McastFailoverLegDown",
        "McastFailoverStreamUnprotected",
        "McastFailoverUnrecoverable",
    ] {
        assert!(rules.contains(alert), "rules name {alert}");
    }
    let dir = workdir("ops-rules");
    let file = dir.join("rules.yml");
    std::fs::write(&file, rules).unwrap();
    let (ok, text) = promtool(&["check", "rules", file.to_str().unwrap()], "");
    assert!(ok, "promtool check rules:\n{text}\n{rules}");
    assert!(text.contains("SUCCESS: 3 rules found"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sharded (`--nb-cores 2`: stream1 on worker 0, stream2 on worker 1,
/// each with its own output tx queue): the metrics page and the telemetry
/// commands count both workers' streams, each stream's residence figures
/// are its own (stream2 sends half as many packets), and each queue's file
/// holds its worker's stream only.
#[test]
fn metrics_and_telemetry_cover_every_sharded_worker() {
    require(&METRICS);
    require(&TELEMETRY);
    let _turn = serial();
    let dir = workdir("ops-shard");
    let mut second = test_stream_spec();
    second.primary.dst_ip = "239.1.0.2".parse().unwrap();
    second.secondary.dst_ip = "239.2.0.2".parse().unwrap();
    let mut sc = Scenario::with_streams(vec![test_stream_spec(), second]);
    const SECOND: u64 = PACKETS / 2;
    let both = |n: u64| -> Vec<LegPacket> {
        (0..n)
            .flat_map(|i| {
                let t = i * 100_000;
                std::iter::once(LegPacket::new(i, t))
                    .chain((i < SECOND).then(|| LegPacket::new(i, t).stream(1)))
            })
            .collect()
    };
    sc.primary = both(PACKETS);
    sc.secondary = both(PACKETS);
    let (pri, sec) = sc.write_to_dir(&dir).unwrap();
    let outs = [dir.join("out0.pcap"), dir.join("out1.pcap")];
    let vdevs = [
        format!("net_pcap0,rx_pcap={}", pri.display()),
        format!("net_pcap1,rx_pcap={}", sec.display()),
        format!(
            "net_pcap2,tx_pcap={},tx_pcap={}",
            outs[0].display(),
            outs[1].display()
        ),
    ];
    let mut live = Live::spawn_on(
        "shard",
        Some("0@0,1@1,2@1"),
        &eal_memory_args(),
        &vdevs,
        &[
            "--stream",
            "239.1.0.2:5000,239.2.0.2:5000=239.10.0.2:5004",
            "--nb-cores",
            "2",
            // One poller: a replay under the TSC clock is read by each
            // input's poller as fast as it runs, so the legs could drift
            // apart by more than the window (a restart to the merge).
            "--clock",
            "capture",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
    );
    let url = live.metrics_url();
    let second_stream =
        "{stream=\"stream2\",output=\"239.10.0.2:5004\",groups=\"239.1.0.2:5000,239.2.0.2:5000\"}";
    let sent = |page: &str, labels: &str| {
        sample(page, &format!("mcast_failover_stream_sent_total{labels}"))
    };
    let page = live.until("both streams counted sent", |_| {
        let p = curl(&url)?;
        (sent(&p, STREAM)? == PACKETS as f64 && sent(&p, second_stream)? == SECOND as f64)
            .then_some(p)
    });
    assert_eq!(
        sample(&page, "mcast_failover_output_packets_total{port=\"2\"}"),
        Some((PACKETS + SECOND) as f64),
        "{page}"
    );
    assert_eq!(
        sample(&page, "mcast_failover_residence_seconds_count"),
        Some((PACKETS + SECOND) as f64),
        "both workers' histograms"
    );
    for labels in [STREAM, second_stream] {
        let p99 = format!("mcast_failover_stream_residence_p99_seconds{labels}");
        assert!(sample(&page, &p99).is_some(), "{p99} in\n{page}");
    }
    let prefix = live.prefix.clone();
    let want = [("stream1", PACKETS), ("stream2", SECOND)];
    // A packet counts as sent when queued and gets its residence when its
    // tx burst returns: wait for a publication after the last burst.
    let r = live.until("each stream's residence counts its packets", |_| {
        let r = telemetry(
            &prefix,
            &["/mcast_failover/stream,0", "/mcast_failover/stream,1"],
        );
        let done = r.len() == 2
            && want.iter().enumerate().all(|(i, (_, n))| {
                r[i]["/mcast_failover/stream"]["residence_count"].as_u64() == Some(*n)
            });
        done.then_some(r)
    });
    for (i, (name, n)) in want.iter().enumerate() {
        let s = &r[i]["/mcast_failover/stream"];
        assert_eq!(s["name"], *name, "{s}");
        assert_eq!(s["sent"].as_u64(), Some(*n), "{s}");
        // Its own histogram: one residence per packet it sent, quantiles
        // in order.
        assert_eq!(s["residence_count"].as_u64(), Some(*n), "{s}");
        let q = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{k} in {s}"));
        assert!(q("residence_p99_ns") > 0, "{s}");
        assert!(q("residence_p50_ns") <= q("residence_p99_ns"), "{s}");
        assert!(q("residence_p99_ns") <= q("residence_p999_ns"), "{s}");
        assert!(q("residence_p999_ns") <= q("residence_max_ns"), "{s}");
    }
    let (code, stdout, stderr) = live.stop();
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("Shards: 2 merge workers"), "{stdout}");
    for (q, group, n) in [(0, "239.10.0.1", PACKETS), (1, "239.10.0.2", SECOND)] {
        let frames = testkit::read_frames(&outs[q]).unwrap();
        assert_eq!(frames.len() as u64, n, "tx queue {q}");
        for f in &frames {
            let r = testkit::parse_rtp(f).unwrap();
            assert_eq!(r.udp.dst_ip.to_string(), group, "tx queue {q}");
        }
    }
}

#[test]
fn telemetry_commands_answer_through_dpdk_telemetry_py() {
    require(&TELEMETRY);
    let _turn = serial();
    let dir = workdir("ops-telemetry");
    let (pri, sec) = both_legs(&dir, PACKETS);
    let out = dir.join("out.pcap");
    let events_file = dir.join("events.jsonl");
    let mut live = Live::start(
        "tele",
        (&pri, &sec),
        &out,
        &[
            "--health-hold",
            "0",
            "--events-json",
            events_file.to_str().unwrap(),
        ],
    );
    let prefix = live.prefix.clone();
    // Wait until the stream reply shows every packet sent.
    let reply = live.until("telemetry stream reply with every packet sent", |_| {
        let r = telemetry(&prefix, &["/mcast_failover/stream,0"]);
        let s = r.first()?["/mcast_failover/stream"].clone();
        (s["sent"].as_u64() == Some(PACKETS)).then_some(s)
    });
    assert_eq!(reply["name"], "stream1");
    assert_eq!(
        reply["groups"],
        serde_json::json!(["239.1.0.1:5000", "239.2.0.1:5000"])
    );
    assert_eq!(reply["leg_received"], serde_json::json!([PACKETS, PACKETS]));
    assert_eq!(reply["leg_port"], serde_json::json!([0, 1]));
    assert_eq!(reply["unrecoverable"], 0);
    assert!(
        reply["output_residence_p99_ns"].as_u64().unwrap() > 0,
        "{reply}"
    );
    assert!(reply["health"].is_string(), "{reply}");

    let r = telemetry(
        &prefix,
        &[
            "/mcast_failover/streams",
            "/mcast_failover/stream,stream1",
            "/mcast_failover/stream,9",
            "/mcast_failover/ports",
            "/mcast_failover/events",
            "/",
        ],
    );
    assert_eq!(r.len(), 6, "{r:?}");
    assert_eq!(
        r[0]["/mcast_failover/streams"],
        serde_json::json!({"count": 1, "ids": [0]})
    );
    assert_eq!(r[1]["/mcast_failover/stream"]["id"], 0);
    assert_eq!(
        r[2]["/mcast_failover/stream"],
        serde_json::Value::Null,
        "no stream 9"
    );
    let ports = &r[3]["/mcast_failover/ports"];
    assert_eq!(ports["port"], serde_json::json!([0, 1, 2]));
    assert_eq!(
        ports["role"],
        serde_json::json!(["primary", "secondary", "output"])
    );
    assert_eq!(
        ports["rx_packets"],
        serde_json::json!([PACKETS, PACKETS, 0])
    );
    assert_eq!(ports["tx_packets"], serde_json::json!([0, 0, PACKETS]));
    // The health of the stream was reported (hold 0): an event of its own.
    let events = r[4]["/mcast_failover/events"].as_array().unwrap().clone();
    assert!(
        events
            .iter()
            .any(|e| e.as_str().unwrap_or("").contains("health")),
        "{events:?}"
    );
    let cmds = r[5]["/"].as_array().unwrap();
    for c in [
        "/mcast_failover/streams",
        "/mcast_failover/stream",
        "/mcast_failover/ports",
        "/mcast_failover/events",
    ] {
        assert!(cmds.iter().any(|x| x == c), "{c} registered: {cmds:?}");
    }

    let (code, stdout, stderr) = live.stop();
    assert_eq!(code, Some(0), "exit after SIGTERM\n{stdout}\n{stderr}");
    // --events-json: one JSON object a line, the health report among them,
    // the same events as the final stats' list.
    let text = std::fs::read_to_string(&events_file).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {l}: {e}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|e| e["event"] == "health" && e["stream"] == "stream1"),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .all(|e| e["t_s"].is_number() && e["text"].is_string()),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn events_json_must_be_a_regular_file() {
    let dir = workdir("ops-events-bad");
    let link = dir.join("link.jsonl");
    std::os::unix::fs::symlink(dir.join("target.jsonl"), &link).unwrap();
    for (bad, why) in [
        ("/dev/null", "not a regular file"),
        (link.to_str().unwrap(), "--events-json"),
    ] {
        let out = Command::new(BIN)
            .args(eal_args(&format!("mfopsev{}", std::process::id())))
            .args([
                "--vdev",
                "net_null0",
                "--vdev",
                "net_null1",
                "--vdev",
                "net_null2",
                "--",
            ])
            .args(["--stream", TEST_STREAM])
            .args(["--events-json", bad, "--duration", "30"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        let line = err
            .lines()
            .find(|l| l.starts_with("mcast-failover: "))
            .unwrap_or("");
        assert!(line.contains(why), "{bad}: {err}");
    }
    assert!(
        !dir.join("target.jsonl").exists(),
        "nothing written through the link"
    );
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/mfopsev{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
}

/// One leg's packets `0..n` (both legs' specs as in [`both_legs`]) in its
/// own file, for its own tcpreplay.
fn leg_file(dir: &Path, leg: Leg, n: u64) -> PathBuf {
    let mut sc = Scenario::new(test_stream_spec());
    sc.primary = paced(0..n, 0, 1_000_000);
    sc.secondary = paced(0..n, 0, 1_000_000);
    let file = dir.join(format!("{leg:?}.pcap"));
    let mut w = PcapWriter::create(&file, TsResolution::Micro).unwrap();
    for p in sc.leg_packets(leg) {
        w.write_frame(p.ts_ns, &p.data).unwrap();
    }
    w.finish().unwrap();
    file
}

/// tcpreplay of `file` onto `iface` at `pps`, killed on drop.
struct Replay(Child);

impl Replay {
    fn start(iface: &str, file: &Path, pps: u32) -> Replay {
        let child = Command::new("tcpreplay")
            .args(["-q", "-i", iface, &format!("--pps={pps}")])
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tcpreplay");
        Replay(child)
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// EAL memory for a run that a secondary process (dpdk-dumpcap) attaches
/// to: hugepages, with their files kept (no --huge-unlink) so it can map them.
fn shared_memory() -> Vec<String> {
    support::hugepage_memory_args("dpdk-dumpcap attaches through shared hugepage memory")
}

/// The health the metrics page reports for the test stream, if any.
fn health_of(page: &str) -> Option<&'static str> {
    ["healthy", "partially_healthy", "unhealthy"].into_iter().find(|h| {
        let series = format!(
            "mcast_failover_stream_health{{stream=\"stream1\",output=\"239.10.0.1:5004\",groups=\"239.1.0.1:5000,239.2.0.1:5000\",state=\"{h}\"}}"
        );
        sample(page, &series) == Some(1.0)
    })
}

/// Live traffic on both legs: the stream becomes healthy; with the
/// secondary's source gone, partially healthy; with both gone, unhealthy.
/// Meanwhile dpdk-dumpcap captures the output port and tshark reads the
/// merged stream from the capture.
#[test]
fn live_health_follows_the_legs_and_dumpcap_captures_the_output() {
    require(&LIVE);
    let _turn = serial();
    let dir = workdir("ops-live");
    let veth = Veth::new("lv");
    let pri = leg_file(&dir, Leg::Primary, 60_000);
    let sec = leg_file(&dir, Leg::Secondary, 60_000);
    let out = dir.join("out.pcap");
    let vdevs = [
        format!("net_af_packet0,iface={}", veth.dut),
        format!("net_pcap1,tx_pcap={}", out.display()),
    ];
    let mut live = Live::spawn(
        "live",
        &shared_memory(),
        &vdevs,
        &[
            &SHARED_INPUT_PORTS[..],
            &[
                // Two independent replays start at slightly different moments:
                // a window and timeout far above that skew keep the primary's
                // copy chosen, so the stream settles healthy.
                "--max-delay",
                "2000",
                "--leg-timeout",
                "2000",
                "--health-hold",
                "1",
                "--metrics-listen",
                "127.0.0.1:0",
            ],
        ]
        .concat(),
    );
    let url = live.metrics_url();
    let mut a = Replay::start(&veth.feed, &pri, 1000);
    let b = Replay::start(&veth.feed, &sec, 1000);
    live.until("health healthy", |_| {
        (health_of(&curl(&url)?)? == "healthy").then_some(())
    });

    // Capture the output port (1) while the traffic flows.
    let cap = dir.join("cap.pcapng");
    let mut dumpcap = Command::new("dpdk-dumpcap")
        .arg(format!("--file-prefix={}", live.prefix))
        .args(["-i", "1", "-c", "200", "-q", "-w"])
        .arg(&cap)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dpdk-dumpcap");
    let de = drain_pipe(dumpcap.stderr.take().unwrap());
    let code = wait_bounded(&mut dumpcap, "dpdk-dumpcap -c 200");
    let dump_err = de.join().unwrap_or_default();
    assert_eq!(code, Some(0), "dpdk-dumpcap: {dump_err}");
    let fields = Command::new("tshark")
        .args(["-r"])
        .arg(&cap)
        .args([
            "-d",
            "udp.port==5004,rtp",
            "-T",
            "fields",
            "-e",
            "ip.dst",
            "-e",
            "udp.dstport",
            "-e",
            "rtp.seq",
        ])
        .output()
        .expect("run tshark");
    let text = String::from_utf8_lossy(&fields.stdout);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    // dumpcap stops at the end of the burst that reached the count.
    assert!(
        rows.len() >= 200,
        "dumpcap -c 200 captured {}\n{text}",
        rows.len()
    );
    let mut seqs = Vec::new();
    for r in &rows {
        assert_eq!(
            &r[..2],
            &["239.10.0.1", "5004"],
            "captured output packet {r:?}"
        );
        seqs.push(r[2].parse::<u32>().expect("RTP sequence number"));
    }
    assert!(
        seqs.windows(2).all(|w| w[1] == (w[0] + 1) % 65_536),
        "the captured output is one gapless sequence: {seqs:?}"
    );

    drop(b);
    live.until("health partially_healthy", |_| {
        (health_of(&curl(&url)?)? == "partially_healthy").then_some(())
    });
    a.0.kill().ok();
    live.until("health unhealthy", |_| {
        (health_of(&curl(&url)?)? == "unhealthy").then_some(())
    });
    drop(a);

    let (code, stdout, stderr) = live.stop();
    assert_eq!(code, Some(0), "exit after SIGTERM\n{stdout}\n{stderr}");
    let health: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.split("health ").nth(1))
        .filter_map(|h| h.split(' ').next())
        .collect();
    // In this order, whatever came before (the start, with no leg up yet,
    // may or may not have been reported as unhealthy).
    let mut rest = health.iter();
    for want in ["healthy", "partially_healthy", "unhealthy"] {
        assert!(
            rest.any(|h| *h == want),
            "{want} after the previous report in {health:?}"
        );
    }
    drop(veth);
    for f in std::fs::read_dir("/dev/hugepages")
        .into_iter()
        .flatten()
        .flatten()
    {
        if f.file_name()
            .to_string_lossy()
            .starts_with(&live_prefix("live"))
        {
            let _ = std::fs::remove_file(f.path());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The EAL file prefix [`Live`] gives test `tag`.
fn live_prefix(tag: &str) -> String {
    format!("mfops{tag}{}", std::process::id())
}

/// packaging/mcast-failover.service passes `systemd-analyze verify` with no
/// warning, pointed at the built binary and the example environment file,
/// and has what a DPDK service needs.
#[test]
fn systemd_unit_verifies() {
    require(&SYSTEMD);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let unit = std::fs::read_to_string(root.join("packaging/mcast-failover.service")).unwrap();
    for line in [
        "Requires=dev-hugepages.mount",
        "After=dev-hugepages.mount network-online.target",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "RestartPreventExitStatus=2",
        "LimitMEMLOCK=infinity",
        "EnvironmentFile=/etc/default/mcast-failover",
    ] {
        assert!(unit.lines().any(|l| l == line), "unit has {line}");
    }
    let env = root.join("packaging/mcast-failover.env");
    let text = std::fs::read_to_string(&env).unwrap();
    for var in ["EAL_ARGS=", "CONFIG=", "APP_ARGS="] {
        assert!(
            text.lines().any(|l| l.starts_with(var)),
            "env file sets {var}"
        );
    }
    let dir = workdir("ops-systemd");
    let local = unit
        .replace("/usr/local/bin/mcast-failover", BIN)
        .replace("/etc/default/mcast-failover", env.to_str().unwrap());
    let file = dir.join("mcast-failover.service");
    std::fs::write(&file, local).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&file)
        .output()
        .expect("run systemd-analyze");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify: {err}");
    assert!(err.trim().is_empty(), "systemd-analyze verify warns: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}
