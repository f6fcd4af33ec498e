//! What the load generator measures with: arrival bookkeeping, a process's CPU time and RSS,
//! and latency percentiles.

use crate::Args;
use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Instant,
};

/// Arrival bookkeeping shared by all session tasks.
pub struct Tally {
    pub started: Instant,
    /// When each event's REST call started, in µs since `started` (0: not yet).
    pub sent_at: Vec<AtomicU64>,
    /// The latest arrival of each event at any session, in µs since `started`.
    pub last_arrival: Vec<AtomicU64>,
    pub frames: AtomicUsize,
    pub welcomed: AtomicUsize,
    /// Turned true when the measurement is over: the readers stop and hand in their samples.
    pub stop: tokio::sync::watch::Sender<bool>,
}

impl Tally {
    pub fn new(events: usize) -> Tally {
        Tally {
            started: Instant::now(),
            sent_at: (0..events).map(|_| AtomicU64::new(0)).collect(),
            last_arrival: (0..events).map(|_| AtomicU64::new(0)).collect(),
            frames: AtomicUsize::new(0),
            welcomed: AtomicUsize::new(0),
            stop: tokio::sync::watch::channel(false).0,
        }
    }

    pub fn now_micros(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }
}

/// CPU time and RSS of a process, from /proc.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessSample {
    pub cpu_seconds: f64,
    pub rss_kib: u64,
}

pub fn sample_process(pid: Option<u32>) -> Option<ProcessSample> {
    let path = pid.map_or_else(|| "/proc/self".to_string(), |pid| format!("/proc/{pid}"));
    let stat = std::fs::read_to_string(format!("{path}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("{path}/status")).ok()?;
    let rss_kib = status.lines().find(|line| line.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    // Linux reports CPU time in USER_HZ ticks, 100 per second on every supported platform.
    Some(ProcessSample { cpu_seconds: ticks / 100.0, rss_kib })
}

pub fn percentile(sorted: &[u64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index] as f64 / 1000.0
}

pub fn latency_line(label: &str, mut micros: Vec<u64>) {
    micros.sort_unstable();
    println!(
        "{label}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        micros.len(),
        percentile(&micros, 0.5),
        percentile(&micros, 0.99),
        percentile(&micros, 1.0)
    );
}

/// Summed CPU time of every server process named.
pub fn servers_cpu(args: &Args) -> Option<f64> {
    let mut total = sample_process(args.server_pid)?.cpu_seconds;
    for pid in &args.also_server_pids {
        total += sample_process(Some(*pid))?.cpu_seconds;
    }
    Some(total)
}

/// Microseconds since the Unix epoch: comparable across the client processes of one machine.
pub fn unix_micros() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_micros() as u64)
}

pub async fn report_latencies(tally: Arc<Tally>, readers: Vec<tokio::task::JoinHandle<Vec<u64>>>) {
    tally.stop.send_replace(true);
    let mut all = Vec::new();
    for reader in readers {
        if let Ok(samples) = reader.await {
            all.extend(samples);
        }
    }
    let last: Vec<u64> = tally
        .sent_at
        .iter()
        .zip(&tally.last_arrival)
        .filter_map(|(sent, last)| {
            let (sent, last) = (sent.load(Ordering::Acquire), last.load(Ordering::Acquire));
            (sent > 0 && last > 0).then(|| last - sent)
        })
        .collect();
    latency_line("latency to each session", all);
    latency_line("latency to the last session", last);
}

/// A latency histogram of the server's `/metrics` (`metric`, in seconds): the bucket bounds
/// under which half and 99 % of the observations fell.
pub async fn report_server_histogram(args: &Args, metric: &str, what: &str, things: &str) {
    let Ok(mut http) = crate::client::HttpConnection::open(args.server).await else { return };
    let Ok((200, text)) = http.call("GET", "/metrics", "", "").await else { return };
    let prefix = format!("{metric}_bucket{{le=\"");
    let buckets: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .filter_map(|rest| {
            let (bound, count) = rest.split_once("\"} ")?;
            Some((bound.parse().unwrap_or(f64::INFINITY), count.trim().parse().ok()?))
        })
        .collect();
    let Some(&(_, total)) = buckets.last() else { return };
    let within = |fraction: f64| buckets.iter().find(|(_, count)| *count >= fraction * total).map(|(bound, _)| *bound);
    println!(
        "server's {what}: {total} {things}, p50 ≤ {:?} s, p99 ≤ {:?} s (bucket bounds)",
        within(0.5),
        within(0.99)
    );
}
