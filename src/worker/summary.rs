//! The dropped-records summary: the counts it covers, its text, and how it is rendered.
//!
//! Once the writer has caught up after drops, it sends one WARN record that says how many records
//! were lost, on which lane and why, since when. It is not a user record: it is not counted in
//! `written`, so `attempted = written + dropped` still holds.

use crate::clock::Timestamp;
use crate::format::{Message, NoFields, Record, Renderer};
use crate::route::Router;
use crate::severity::Priority;
use crate::stats::{Counters, DropReason, Lane};
use crate::SeverityMapping;

/// Renders the dropped-records summary (the text is the message) and returns its priority.
pub(crate) type SummaryFn = Box<dyn Fn(&str, &mut Vec<u8>) -> Priority + Send + Sync>;

/// What the writer renders with: the records callers captured, and its own summary.
pub(crate) struct Rendering {
    /// The logger's renderer, for captured records.
    pub(crate) renderer: Renderer,
    /// The dropped-records summary.
    pub(crate) summary: SummaryFn,
}

/// The writer's [`Rendering`]: `renderer` for captured records, and a summary that renders like
/// any record with level WARN and target `fastsyslog`.
pub(crate) fn summary_renderer(
    renderer: Renderer,
    router: Router,
    mapping: SeverityMapping,
) -> Rendering {
    let summary_renderer = renderer.clone();
    let summary: SummaryFn = Box::new(move |text, buf| {
        let renderer = &summary_renderer;
        let level = log::Level::Warn;
        let facility = router.route("fastsyslog", level, &mut |_| false);
        let priority = Priority::new(facility, mapping.for_level(level));
        let record = Record {
            priority,
            message: Message::Display(&text),
            fields: &NoFields,
            spans: None,
        };
        renderer.render(buf, &record, crate::sys::fork::pid(), &crate::clock::now());
        priority
    });
    Rendering { renderer, summary }
}

/// Every drop counter except shutdown drops (those happen after the writer's last summary).
pub(super) fn dropped_counts(counters: &Counters) -> [[u64; 5]; 2] {
    let mut out = [[0; 5]; 2];
    for lane in [Lane::Error, Lane::Bulk] {
        for (i, &reason) in DropReason::all().iter().enumerate() {
            if reason != DropReason::Shutdown {
                out[lane as usize][i] = counters.dropped(lane, reason);
            }
        }
    }
    out
}

/// `fastsyslog: dropped N records (lane, reason) since <time>`; with several lanes or reasons,
/// `(bulk, queue_full: 5; error, timeout: 2)`.
pub(super) fn summary_text(
    before: &[[u64; 5]; 2],
    now: &[[u64; 5]; 2],
    since: &Timestamp,
) -> String {
    let mut parts = Vec::new();
    let mut total = 0;
    for lane in [Lane::Error, Lane::Bulk] {
        for (i, reason) in DropReason::all().iter().enumerate() {
            let n = now[lane as usize][i].saturating_sub(before[lane as usize][i]);
            if n > 0 {
                total += n;
                parts.push((lane.name(), reason.name(), n));
            }
        }
    }
    let detail = match parts.as_slice() {
        [(lane, reason, _)] => format!("{lane}, {reason}"),
        _ => parts
            .iter()
            .map(|(lane, reason, n)| format!("{lane}, {reason}: {n}"))
            .collect::<Vec<_>>()
            .join("; "),
    };
    let noun = if total == 1 { "record" } else { "records" };
    format!(
        "fastsyslog: dropped {total} {noun} ({detail}) since {}",
        String::from_utf8_lossy(since.rfc3339(false).as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::tests::{config, fill_while_blocked, pri, setup, LONG};
    use crate::worker::Overflow;

    /// The next summary record the transport got, as `(PRI, text)`.
    fn summary_record(s: &crate::worker::tests::Setup) -> (u8, String) {
        loop {
            let batch = s.batches.recv_timeout(LONG).expect("a summary record");
            if let Some((p, m)) = batch
                .into_iter()
                .find(|(_, m)| m.starts_with(b"fastsyslog:"))
            {
                return (p, String::from_utf8(m).unwrap());
            }
        }
    }

    #[test]
    fn summary_follows_drops_once_caught_up() {
        let s = setup(
            config((4, Overflow::Drop), (4, Overflow::Drop)),
            true,
            false,
        );
        let permits = s.permits.as_ref().unwrap();
        fill_while_blocked(&s, 3);
        for _ in 0..100 {
            permits.send(()).unwrap();
        }
        assert!(s.handle.flush(LONG));
        // The summary is sent when the writer finds both lanes empty, right after the flush.
        let summary = summary_record(&s);
        assert_eq!(summary.0, pri(crate::Severity::Warning).value());
        assert!(
            summary
                .1
                .starts_with("fastsyslog: dropped 3 records (bulk, queue_full) since "),
            "{}",
            summary.1
        );
        // The summary is not a user record: the counting identity is untouched.
        let stats = s.counters.snapshot(0);
        assert_eq!(stats.written, 5);
    }

    #[test]
    fn summary_since_is_the_time_of_the_first_drop() {
        let s = setup(
            config((4, Overflow::Drop), (4, Overflow::Drop)),
            true,
            false,
        );
        let permits = s.permits.as_ref().unwrap();
        let stamp = || {
            let now = crate::clock::now();
            String::from_utf8_lossy(now.rfc3339(false).as_bytes()).into_owned()
        };
        let before = stamp();
        fill_while_blocked(&s, 3);
        let after = stamp();
        // The writer catches up more than a second after the drops.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        for _ in 0..100 {
            permits.send(()).unwrap();
        }
        assert!(s.handle.flush(LONG));
        let (_, summary) = summary_record(&s);
        let since = summary.rsplit(" since ").next().unwrap();
        assert!(
            since == before || since == after,
            "{summary} ({before} .. {after})"
        );
        // Covered: the next drop starts a new period (checked once the writer has exited).
        s.handle.shutdown(LONG);
        assert_eq!(s.counters.first_drop_us(), None);
    }

    #[test]
    fn summary_text_lists_each_lane_and_reason() {
        let before = [[0; 5]; 2];
        let mut now = [[0; 5]; 2];
        now[Lane::Bulk as usize][DropReason::QueueFull as usize] = 5;
        now[Lane::Error as usize][DropReason::Timeout as usize] = 2;
        let since = crate::format::tests::now();
        assert_eq!(
            summary_text(&before, &now, &since),
            "fastsyslog: dropped 7 records (error, timeout: 2; bulk, queue_full: 5) since \
             2026-11-02T09:05:01+01:00"
        );
        let mut one = [[0; 5]; 2];
        one[Lane::Error as usize][DropReason::SendError as usize] = 1;
        let since = Timestamp {
            utc_offset: 0,
            ..since
        };
        assert_eq!(
            summary_text(&before, &one, &since),
            "fastsyslog: dropped 1 record (error, send_error) since 2026-11-02T09:05:01Z"
        );
    }
}
