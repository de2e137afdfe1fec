//! What a load run measured: counts by RPC and gRPC status code and latency histograms while it
//! runs ([`Tally`]), and the report printed at the end ([`LoadReport`]: a table for people, one
//! JSON object for CI).

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tonic::Code;

use super::mix::RpcKind;

/// gRPC status codes 0 (OK) to 16 (UNAUTHENTICATED).
const CODE_COUNT: usize = 17;

/// Latencies are recorded in microseconds, from 1 µs to 1 hour, to 3 significant digits.
const LATENCY_MAX_US: u64 = 3_600_000_000;

/// Counts and latencies of one RPC kind.
#[derive(Debug, Clone)]
struct KindTally {
    codes: [u64; CODE_COUNT],
    latency_us: Histogram<u64>,
}

impl KindTally {
    fn new() -> Self {
        KindTally {
            codes: [0; CODE_COUNT],
            latency_us: Histogram::new_with_bounds(1, LATENCY_MAX_US, 3)
                .expect("constant histogram bounds are valid"),
        }
    }

    fn requests(&self) -> u64 {
        self.codes.iter().sum()
    }
}

/// Counts by RPC kind and status code, and latency histograms. Recording does not allocate.
#[derive(Debug, Clone)]
pub struct Tally {
    kinds: Vec<KindTally>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            kinds: (0..RpcKind::COUNT).map(|_| KindTally::new()).collect(),
        }
    }
}

impl Tally {
    /// One answered (or failed) operation.
    pub fn record(&mut self, kind: RpcKind, code: Code, latency: Duration) {
        let tally = &mut self.kinds[kind as usize];
        tally.codes[(code as usize).min(CODE_COUNT - 1)] += 1;
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        tally.latency_us.saturating_record(micros.max(1));
    }

    /// Adds `other`'s counts and latencies to these.
    pub(crate) fn merge(&mut self, other: &Tally) {
        for (mine, theirs) in self.kinds.iter_mut().zip(&other.kinds) {
            for (a, b) in mine.codes.iter_mut().zip(theirs.codes) {
                *a += b;
            }
            mine.latency_us
                .add(&theirs.latency_us)
                .expect("histograms of the same bounds add up");
        }
    }

    /// Operations recorded.
    pub fn requests(&self) -> u64 {
        self.kinds.iter().map(KindTally::requests).sum()
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    #[serde(rename = "p99.9")]
    pub p99_9: f64,
    pub max: f64,
    pub mean: f64,
}

impl Latency {
    fn of(histogram: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        if histogram.is_empty() {
            return Latency {
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                p99_9: 0.0,
                max: 0.0,
                mean: 0.0,
            };
        }
        Latency {
            p50: ms(histogram.value_at_quantile(0.5)),
            p90: ms(histogram.value_at_quantile(0.9)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p99_9: ms(histogram.value_at_quantile(0.999)),
            max: ms(histogram.max()),
            mean: histogram.mean() / 1000.0,
        }
    }
}

/// Figures of one RPC kind, or of all together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Operations completed in the measured part (an `auth` operation is two calls).
    pub requests: u64,
    /// Those answered OK.
    pub ok: u64,
    /// The others, by gRPC status code name (e.g. "NOT_FOUND"); only codes that occurred.
    pub errors: BTreeMap<String, u64>,
    /// Operations per second over the measured part.
    pub throughput_per_second: f64,
    pub latency_ms: Latency,
}

impl Figures {
    fn of(codes: &[u64; CODE_COUNT], latency: &Histogram<u64>, seconds: f64) -> Self {
        let requests: u64 = codes.iter().sum();
        let errors = codes
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, n)| **n > 0)
            .map(|(code, n)| {
                (
                    crate::error::code_name(Code::from(code as i32)).to_owned(),
                    *n,
                )
            })
            .collect();
        Figures {
            requests,
            ok: codes[0],
            errors,
            throughput_per_second: if seconds > 0.0 {
                requests as f64 / seconds
            } else {
                0.0
            },
            latency_ms: Latency::of(latency),
        }
    }
}

/// How the run was set up, as reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// `LOAD-<run_id>-<n>` is the dossier id of request n.
    pub run_id: String,
    pub target: String,
    /// "closed" (fixed concurrency) or "open" (fixed arrival rate).
    pub mode: String,
    /// Closed loop: requests in flight.
    pub concurrency: Option<usize>,
    /// Open loop: requests sent per second, and at most in flight.
    pub rate_per_second: Option<f64>,
    pub max_in_flight: Option<usize>,
    pub mix: String,
    pub citizens: String,
    pub warmup_seconds: f64,
}

/// The report of a load run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    #[serde(flatten)]
    pub settings: RunSettings,
    /// Length of the measured part, from its start to the last answer.
    pub elapsed_seconds: f64,
    /// All RPCs together.
    #[serde(flatten)]
    pub total: Figures,
    /// Per RPC kind of the mix ("noop", "lookup", "verify", "qr", "auth").
    pub rpcs: BTreeMap<String, Figures>,
    /// Whether the run was ended early (Ctrl-C): the figures are of the part that ran.
    #[serde(default)]
    pub interrupted: bool,
}

impl LoadReport {
    pub fn new(settings: RunSettings, tally: &Tally, elapsed: Duration) -> Self {
        let seconds = elapsed.as_secs_f64();
        let mut all_codes = [0; CODE_COUNT];
        let mut all_latency = KindTally::new().latency_us;
        let mut rpcs = BTreeMap::new();
        for kind in RpcKind::ALL {
            let tally = &tally.kinds[kind as usize];
            if tally.requests() == 0 {
                continue;
            }
            for (a, b) in all_codes.iter_mut().zip(tally.codes) {
                *a += b;
            }
            all_latency
                .add(&tally.latency_us)
                .expect("histograms of the same bounds add up");
            rpcs.insert(
                kind.name().to_owned(),
                Figures::of(&tally.codes, &tally.latency_us, seconds),
            );
        }
        LoadReport {
            settings,
            elapsed_seconds: seconds,
            total: Figures::of(&all_codes, &all_latency, seconds),
            rpcs,
            interrupted: false,
        }
    }

    /// The report as a table for a terminal.
    pub fn table(&self) -> String {
        let s = &self.settings;
        let mut out = String::new();
        let pace = match (s.concurrency, s.rate_per_second) {
            (Some(c), _) => format!("closed loop, {c} in flight"),
            (None, Some(r)) => format!(
                "open loop, {r} req/s (at most {} in flight)",
                s.max_in_flight.unwrap_or_default()
            ),
            (None, None) => s.mode.clone(),
        };
        let _ = writeln!(
            out,
            "vnpop load {}: {pace}, {:.1} s measured after {:.1} s warm-up, target {}",
            s.run_id, self.elapsed_seconds, s.warmup_seconds, s.target
        );
        let _ = writeln!(out, "mix {}, citizens {}", s.mix, s.citizens);
        if self.interrupted {
            let _ = writeln!(
                out,
                "interrupted (Ctrl-C) after {:.1} s measured: the figures are of the part that ran",
                self.elapsed_seconds
            );
        }
        let _ = writeln!(
            out,
            "\n{:<8} {:>9} {:>9} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8}",
            "rpc",
            "requests",
            "ok",
            "errors",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms"
        );
        let row = |out: &mut String, name: &str, f: &Figures| {
            let l = &f.latency_ms;
            let _ = writeln!(
                out,
                "{name:<8} {:>9} {:>9} {:>9} {:>10.1} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3}",
                f.requests,
                f.ok,
                f.requests - f.ok,
                f.throughput_per_second,
                l.p50,
                l.p90,
                l.p99,
                l.p99_9,
                l.max
            );
        };
        for (name, figures) in &self.rpcs {
            row(&mut out, name, figures);
        }
        row(&mut out, "all", &self.total);
        let _ = writeln!(out, "\nstatus codes:");
        let _ = writeln!(out, "  {:<20} {:>9}", "OK", self.total.ok);
        for (code, n) in &self.total.errors {
            let by_rpc: Vec<String> = self
                .rpcs
                .iter()
                .filter_map(|(rpc, f)| f.errors.get(code).map(|n| format!("{rpc} {n}")))
                .collect();
            let _ = writeln!(out, "  {code:<20} {n:>9}  ({})", by_rpc.join(", "));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_percentiles_come_from_the_histogram() {
        let mut a = Tally::default();
        let mut b = Tally::default();
        for ms in 1..=100 {
            a.record(RpcKind::Lookup, Code::Ok, Duration::from_millis(ms));
        }
        b.record(RpcKind::Lookup, Code::NotFound, Duration::from_millis(500));
        b.record(RpcKind::Noop, Code::Ok, Duration::from_micros(80));
        a.merge(&b);
        assert_eq!(a.requests(), 102);
        let settings = RunSettings {
            run_id: "t".into(),
            target: "x".into(),
            mode: "closed".into(),
            concurrency: Some(1),
            rate_per_second: None,
            max_in_flight: None,
            mix: "lookup=1,noop=1".into(),
            citizens: "uniform".into(),
            warmup_seconds: 0.0,
        };
        let report = LoadReport::new(settings, &a, Duration::from_secs(2));
        assert_eq!(report.total.requests, 102);
        assert_eq!(report.total.ok, 101);
        assert_eq!(report.total.errors.get("NOT_FOUND"), Some(&1));
        assert_eq!(report.rpcs["lookup"].requests, 101);
        assert_eq!(report.rpcs["noop"].requests, 1);
        assert!((report.total.throughput_per_second - 51.0).abs() < 1e-9);
        let lookup = report.rpcs["lookup"].latency_ms;
        // 1..=100 ms and one 500 ms: the median of 101 samples is 51 ms.
        assert!((50.9..=51.1).contains(&lookup.p50), "{lookup:?}");
        assert!((499.0..=501.0).contains(&lookup.max), "{lookup:?}");
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("\"p99.9\""), "{json}");
        let back: LoadReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
        assert!(report.table().contains("NOT_FOUND"));
    }
}
