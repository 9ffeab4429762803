//! [`Stats`] as text: one line (`Display`), JSON ([`Stats::to_json`]) and the Prometheus text
//! exposition format ([`prometheus`], [`Stats::to_prometheus`]).

use std::fmt::{self, Write as _};

use super::{DropReason, Lane, Stats};

// === impl Stats (renderings) ===

/// One line: `enqueued=10 written=7 dropped=3 (bulk/queue_full=3) truncated=0 send_errors=0
/// queue_depth=0 stuck=no`, with errno names (`send_errors=ECONNREFUSED:2`).
impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "enqueued={} written={} dropped={}",
            self.enqueued,
            self.written,
            self.dropped_total()
        )?;
        if !self.dropped.is_empty() {
            f.write_str(" (")?;
            for (i, (lane, reason, n)) in self.dropped.iter().enumerate() {
                let sep = if i == 0 { "" } else { " " };
                write!(f, "{sep}{}/{}={n}", lane.name(), reason.name())?;
            }
            f.write_str(")")?;
        }
        write!(f, " truncated={} send_errors=", self.truncated)?;
        if self.send_errors.is_empty() {
            f.write_str("0")?;
        }
        for (i, &(errno, n)) in self.send_errors.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(f, "{sep}{}:{n}", ErrnoName(errno))?;
        }
        write!(
            f,
            " queue_depth={} stuck={}",
            self.queue_depth,
            if self.writer_stuck { "yes" } else { "no" }
        )
    }
}

/// An errno's name ([`Stats::errno_name`]), or `errno<N>` for one not counted by name.
struct ErrnoName(i32);

impl fmt::Display for ErrnoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Stats::errno_name(self.0) {
            Some(name) => f.write_str(name),
            None => write!(f, "errno{}", self.0),
        }
    }
}

impl Stats {
    /// One JSON object with every counter: drops by lane then reason, send errors keyed by errno
    /// name (and by number under `send_errors_by_code`), per-lane queues, and the heartbeat in
    /// microseconds since the Unix epoch (`null` when there is none).
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::{DropReason, Lane, Stats};
    /// let mut stats = Stats::default();
    /// stats.dropped.push((Lane::Bulk, DropReason::QueueFull, 3));
    /// let json = stats.to_json();
    /// assert!(json.contains(r#""dropped":{"bulk":{"queue_full":3}}"#), "{json}");
    /// ```
    pub fn to_json(&self) -> String {
        let mut o = String::new();
        let _ = self.write_json(&mut o); // Writing into a String cannot fail.
        o
    }

    fn write_json(&self, o: &mut String) -> fmt::Result {
        write!(o, r#"{{"enqueued":{},"enqueued_by_lane":{{"#, self.enqueued)?;
        join(o, &self.enqueued_by_lane, |o, &(lane, n)| {
            write!(o, r#""{}":{n}"#, lane.name())
        })?;
        write!(
            o,
            r#"}},"written":{},"dropped_total":{},"dropped":{{"#,
            self.written,
            self.dropped_total()
        )?;
        let lanes: Vec<Lane> = [Lane::Error, Lane::Bulk]
            .into_iter()
            .filter(|&l| self.dropped.iter().any(|&(dl, _, _)| dl == l))
            .collect();
        join(o, &lanes, |o, &lane| {
            write!(o, r#""{}":{{"#, lane.name())?;
            let of_lane: Vec<(DropReason, u64)> = self
                .dropped
                .iter()
                .filter(|&&(l, _, _)| l == lane)
                .map(|&(_, r, n)| (r, n))
                .collect();
            join(o, &of_lane, |o, &(r, n)| write!(o, r#""{}":{n}"#, r.name()))?;
            o.write_str("}")
        })?;
        write!(o, r#"}},"truncated":{},"send_errors":{{"#, self.truncated)?;
        join(o, &self.send_errors, |o, &(errno, n)| {
            write!(o, r#""{}":{n}"#, ErrnoName(errno))
        })?;
        o.write_str(r#"},"send_errors_by_code":{"#)?;
        join(o, &self.send_errors, |o, &(errno, n)| {
            write!(o, r#""{errno}":{n}"#)
        })?;
        write!(
            o,
            r#"}},"reconnects":{},"frames_cut":{},"queue_depth":{},"queue_depth_high_water":{},"lanes":{{"#,
            self.reconnects, self.frames_cut, self.queue_depth, self.queue_depth_high_water
        )?;
        join(o, &self.lanes, |o, q| {
            write!(
                o,
                r#""{}":{{"depth":{},"bytes":{},"depth_high_water":{},"bytes_high_water":{}}}"#,
                q.lane.name(),
                q.depth,
                q.bytes,
                q.depth_high_water,
                q.bytes_high_water
            )
        })?;
        write!(
            o,
            r#"}},"writer_blocked_ns":{},"writer_stuck":{},"suppressed":{},"sampled_out":{},"backtrace_sent":{},"backtrace_discarded":{},"heartbeat_us":"#,
            self.writer_blocked_ns,
            self.writer_stuck,
            self.suppressed,
            self.sampled_out,
            self.backtrace_sent,
            self.backtrace_discarded
        )?;
        match self.heartbeat_us() {
            Some(us) => write!(o, "{us}}}"),
            None => o.write_str("null}"),
        }
    }

    fn heartbeat_us(&self) -> Option<u128> {
        self.heartbeat
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_micros())
    }

    /// The Prometheus text exposition format for this one process: [`prometheus`] with no labels.
    ///
    /// # Examples
    ///
    /// ```
    /// let text = fastsyslog::Stats::default().to_prometheus();
    /// assert!(text.contains("# TYPE fastsyslog_written_total counter\nfastsyslog_written_total 0\n"));
    /// ```
    pub fn to_prometheus(&self) -> String {
        prometheus(&[(&[], self)])
    }
}

/// Writes `items` through `each`, separated by commas.
fn join<T>(
    o: &mut String,
    items: &[T],
    mut each: impl FnMut(&mut String, &T) -> fmt::Result,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        each(o, item)?;
    }
    Ok(())
}

/// One metric family: its name (without the `fastsyslog_` prefix), type, help, and its samples
/// of one process as `(labels, value)`.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: fn(&Stats) -> Samples,
}

/// A family's samples of one process: `(its own labels, value)`.
type Samples = Vec<(Vec<(&'static str, String)>, f64)>;

fn one(v: u64) -> Samples {
    vec![(Vec::new(), v as f64)]
}

fn per_lane(
    stats: &Stats,
    f: fn(&super::LaneQueue) -> u64,
) -> Vec<(Vec<(&'static str, String)>, f64)> {
    stats
        .lanes
        .iter()
        .map(|q| (vec![("lane", q.lane.name().to_owned())], f(q) as f64))
        .collect()
}

const FAMILIES: &[Family] = &[
    Family {
        name: "enqueued_total",
        kind: "counter",
        help: "Records queued to the background writer (background mode) or that passed the level gate (sync mode).",
        samples: |s| one(s.enqueued),
    },
    Family {
        name: "written_total",
        kind: "counter",
        help: "Records the transport accepted.",
        samples: |s| one(s.written),
    },
    Family {
        name: "dropped_total",
        kind: "counter",
        help: "Records dropped, by lane and reason.",
        samples: |s| {
            let mut out = Vec::new();
            for lane in [Lane::Error, Lane::Bulk] {
                for &reason in DropReason::all() {
                    let labels = vec![
                        ("lane", lane.name().to_owned()),
                        ("reason", reason.name().to_owned()),
                    ];
                    out.push((labels, s.dropped_for(lane, reason) as f64));
                }
            }
            out
        },
    },
    Family {
        name: "truncated_total",
        kind: "counter",
        help: "Records cut to the maximum message size.",
        samples: |s| one(s.truncated),
    },
    Family {
        name: "send_errors_total",
        kind: "counter",
        help: "Records a failed send dropped, by errno.",
        samples: |s| {
            s.send_errors
                .iter()
                .map(|&(errno, n)| (vec![("errno", ErrnoName(errno).to_string())], n as f64))
                .collect()
        },
    },
    Family {
        name: "reconnects_total",
        kind: "counter",
        help: "Successful reconnections of the unix transport.",
        samples: |s| one(s.reconnects),
    },
    Family {
        name: "frames_cut_total",
        kind: "counter",
        help: "Stream frames cut by closing a connection mid-frame (each record sent again whole).",
        samples: |s| one(s.frames_cut),
    },
    Family {
        name: "queue_depth",
        kind: "gauge",
        help: "Records waiting in the background queues.",
        samples: |s| one(s.queue_depth),
    },
    Family {
        name: "queue_depth_high_water",
        kind: "gauge",
        help: "The most records ever waiting in the background queues at once.",
        samples: |s| one(s.queue_depth_high_water),
    },
    Family {
        name: "lane_queue_depth",
        kind: "gauge",
        help: "Records waiting in one lane, as the writer last saw it.",
        samples: |s| per_lane(s, |q| q.depth),
    },
    Family {
        name: "lane_queue_bytes",
        kind: "gauge",
        help: "Bytes of records waiting in one lane, as the writer last saw it.",
        samples: |s| per_lane(s, |q| q.bytes),
    },
    Family {
        name: "lane_queue_depth_high_water",
        kind: "gauge",
        help: "The most records the writer saw waiting in one lane.",
        samples: |s| per_lane(s, |q| q.depth_high_water),
    },
    Family {
        name: "lane_queue_bytes_high_water",
        kind: "gauge",
        help: "The most bytes the writer saw waiting in one lane.",
        samples: |s| per_lane(s, |q| q.bytes_high_water),
    },
    Family {
        name: "writer_blocked_seconds_total",
        kind: "counter",
        help: "Time the background writer spent blocked inside a send.",
        samples: |s| vec![(Vec::new(), s.writer_blocked_ns as f64 / 1e9)],
    },
    Family {
        name: "writer_stuck",
        kind: "gauge",
        help: "1 while the background writer has been trying to send for over a second without a success.",
        samples: |s| one(u64::from(s.writer_stuck)),
    },
    Family {
        name: "suppressed_total",
        kind: "counter",
        help: "Records a rate limit suppressed (not drops).",
        samples: |s| one(s.suppressed),
    },
    Family {
        name: "sampled_out_total",
        kind: "counter",
        help: "Records sampling left out (not drops).",
        samples: |s| one(s.sampled_out),
    },
    Family {
        name: "backtrace_sent_total",
        kind: "counter",
        help: "Backtrace-ring records sent ahead of an error.",
        samples: |s| one(s.backtrace_sent),
    },
    Family {
        name: "backtrace_discarded_total",
        kind: "counter",
        help: "Backtrace-ring records captured and not sent (not drops).",
        samples: |s| one(s.backtrace_discarded),
    },
    Family {
        name: "heartbeat_timestamp_seconds",
        kind: "gauge",
        help: "Unix time of the background writer's last heartbeat.",
        samples: |s| {
            s.heartbeat_us()
                .map(|us| vec![(Vec::new(), us as f64 / 1e6)])
                .unwrap_or_default()
        },
    },
];

/// The Prometheus text exposition format for many processes: one `# HELP` and `# TYPE` per
/// family (names `fastsyslog_*`, counters ending in `_total`), then every sample of that family
/// with its process's labels (for example `[("ident", "web"), ("pid", "123")]`) before its own
/// (`lane`, `reason`, `errno`). Label values are escaped as the format requires.
///
/// # Examples
///
/// ```
/// use fastsyslog::{stats, Stats};
/// let (a, b) = (Stats::default(), Stats::default());
/// let text = stats::prometheus(&[(&[("pid", "1")], &a), (&[("pid", "2")], &b)]);
/// assert_eq!(text.matches("# TYPE fastsyslog_written_total counter").count(), 1);
/// assert!(text.contains("fastsyslog_written_total{pid=\"2\"} 0\n"), "{text}");
/// ```
pub fn prometheus(samples: &[(&[(&str, &str)], &Stats)]) -> String {
    let mut o = String::new();
    for family in FAMILIES {
        let _ = writeln!(o, "# HELP fastsyslog_{} {}", family.name, family.help);
        let _ = writeln!(o, "# TYPE fastsyslog_{} {}", family.name, family.kind);
        for &(process, stats) in samples {
            for (own, value) in (family.samples)(stats) {
                o.push_str("fastsyslog_");
                o.push_str(family.name);
                let labels: Vec<(&str, &str)> = process
                    .iter()
                    .copied()
                    .chain(own.iter().map(|(k, v)| (*k, v.as_str())))
                    .collect();
                if !labels.is_empty() {
                    o.push('{');
                    for (i, (k, v)) in labels.iter().enumerate() {
                        if i > 0 {
                            o.push(',');
                        }
                        o.push_str(k);
                        o.push_str("=\"");
                        escape_label(&mut o, v);
                        o.push('"');
                    }
                    o.push('}');
                }
                let _ = writeln!(o, " {value}");
            }
        }
    }
    o
}

/// A label value as the exposition format wants it: `\`, `"` and newline escaped.
fn escape_label(o: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::net::errno;

    fn sample() -> Stats {
        Stats {
            enqueued: 10,
            written: 7,
            dropped: vec![(Lane::Bulk, DropReason::QueueFull, 3)],
            send_errors: vec![(errno::ECONNREFUSED, 2)],
            ..Stats::default()
        }
    }

    #[test]
    fn display_is_one_line_with_errno_names() {
        assert_eq!(
            sample().to_string(),
            "enqueued=10 written=7 dropped=3 (bulk/queue_full=3) truncated=0 \
             send_errors=ECONNREFUSED:2 queue_depth=0 stuck=no"
        );
        assert_eq!(
            Stats::default().to_string(),
            "enqueued=0 written=0 dropped=0 truncated=0 send_errors=0 queue_depth=0 stuck=no"
        );
    }

    #[test]
    fn json_keys_errnos_by_name_and_code() {
        let json = sample().to_json();
        assert!(
            json.contains(r#""send_errors":{"ECONNREFUSED":2}"#),
            "{json}"
        );
        assert!(
            json.contains(&format!(
                r#""send_errors_by_code":{{"{}":2}}"#,
                errno::ECONNREFUSED
            )),
            "{json}"
        );
        assert!(json.ends_with(r#""heartbeat_us":null}"#), "{json}");
    }

    #[test]
    fn prometheus_escapes_label_values_and_names_errnos() {
        let stats = sample();
        let text = prometheus(&[(&[("ident", "we\"b\\\n")], &stats)]);
        assert!(
            text.contains(
                r#"fastsyslog_send_errors_total{ident="we\"b\\\n",errno="ECONNREFUSED"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains(
            "fastsyslog_dropped_total{ident=\"we\\\"b\\\\\\n\",lane=\"bulk\",reason=\"queue_full\"} 3\n"
        ));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, _) = line.split_once([' ', '{']).unwrap();
            assert!(name.starts_with("fastsyslog_"), "{line}");
        }
    }
}
