//! Headers: RFC 3164 as glibc's `syslog(3)` writes it (with a per-thread cache, one header per
//! second) and RFC 5424.

use std::cell::RefCell;

use super::escape::{IDENT, PRINT};
use super::out::{u64_digits, Out};
use super::record::Record;
use super::Renderer;
use crate::clock::Timestamp;
use crate::severity::Priority;

/// How many bytes glibc's `syslog(3)` puts in front of a body, `<PRI>Mmm dd hh:mm:ss ident[pid]: `
/// (`openlog` with `LOG_PID`, the priority with its facility), for this priority, ident and pid.
/// Exact, so a record whose datagram fits the limit is never cut.
pub(crate) fn libc_header_len(priority: u8, ident: &str, pid: u32) -> usize {
    let digits = |n: u32| n.checked_ilog10().map_or(1, |l| l as usize + 1);
    // `<` `>`, `Mmm dd hh:mm:ss ` (16), `[`, `]: ` (3).
    2 + digits(u32::from(priority)) + 16 + ident.len() + 1 + digits(pid) + 3
}

/// Longest RFC 5424 APP-NAME and HOSTNAME.
pub(super) const MAX_APP_NAME: usize = 48;
pub(super) const MAX_HOSTNAME: usize = 255;

/// The month abbreviations of an RFC 3164 time stamp, as glibc's `%h` writes them.
pub(crate) const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Appends the RFC 3164 header glibc's `syslog(3)` writes, `<PRI>Mmm dd hh:mm:ss ident[pid]: `,
/// to `out`. For the libc transport's fork fallback, which sends to `/dev/log` without glibc but
/// must look the same to the daemon.
pub(crate) fn write_rfc3164_header(
    out: &mut Vec<u8>,
    priority: Priority,
    ident: &str,
    pid: u32,
    now: &Timestamp,
) {
    // No budget: a header is never cut.
    let mut o = Out {
        buf: out,
        max: usize::MAX,
        cut: None,
        slack: 0,
        full: false,
    };
    header_3164(&mut o, priority, ident, pid, now);
}

/// `<PRI>Mmm dd hh:mm:ss ident[pid]: `, as glibc writes it.
pub(super) fn header_3164(
    o: &mut Out<'_>,
    priority: Priority,
    ident: &str,
    pid: u32,
    now: &Timestamp,
) {
    o.push(Stamp3164::new(priority, now).as_bytes());
    o.sanitized(ident, &IDENT, usize::MAX);
    // `[PID]: `
    let mut tail = [0u8; 23];
    tail[20..].copy_from_slice(b"]: ");
    let start = u64_digits(u64::from(pid), &mut tail[..20]) - 1;
    tail[start] = b'[';
    o.push(&tail[start..]);
}

/// `<PRI>Mmm dd hh:mm:ss ` (glibc's `<%d>%h %e %T `), the start of an RFC 3164 header, built on
/// the stack with no allocation: shared by the renderer and the async-signal-safe emergency path.
pub(crate) struct Stamp3164 {
    /// Priority digits right-aligned in the first 21 bytes, then `>Mmm ` and `dd hh:mm:ss `.
    bytes: [u8; 38],
    /// Where the text starts (at the `<`).
    start: usize,
}

impl Stamp3164 {
    pub(crate) fn new(priority: Priority, now: &Timestamp) -> Self {
        let mut bytes = [0u8; 38];
        let start = u64_digits(u64::from(priority.value()), &mut bytes[..21]) - 1;
        bytes[start] = b'<';
        let month = MONTHS[usize::from(now.month.clamp(1, 12) - 1)];
        let two = |n: u8, pad: u8| {
            let n = n.min(99);
            [if n < 10 { pad } else { b'0' + n / 10 }, b'0' + n % 10]
        };
        let [d0, d1] = two(now.day, b' ');
        let [h0, h1] = two(now.hour, b'0');
        let [m0, m1] = two(now.minute, b'0');
        let [s0, s1] = two(now.second, b'0');
        bytes[21..].copy_from_slice(&[
            b'>', month[0], month[1], month[2], b' ', d0, d1, b' ', h0, h1, b':', m0, m1, b':', s0,
            s1, b' ',
        ]);
        Stamp3164 { bytes, start }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

/// The last RFC 3164 header a thread rendered, and what it was rendered from.
#[derive(Debug, Default)]
pub(super) struct HeaderCache {
    /// Renderer id, pid, priority, and the local time to the second (month to second: the header
    /// shows no year); `None` before the first header.
    key: Option<(u64, u32, u8, u64)>,
    bytes: Vec<u8>,
}

thread_local! {
    /// A header changes once a second per priority, so most records copy it from here instead of
    /// formatting it again.
    static HEADER_3164: RefCell<HeaderCache> = RefCell::new(HeaderCache::default());
}

// === impl Renderer ===

impl Renderer {
    /// [`header_3164`], copied from this thread's [`HEADER_3164`] when it was rendered for the same
    /// renderer, pid, priority and second.
    #[inline]
    pub(super) fn cached_header_3164(
        &self,
        o: &mut Out<'_>,
        priority: Priority,
        pid: u32,
        now: &Timestamp,
    ) {
        // One byte per field, so no two times share a key (packing them in fewer bits once let
        // `day << 16` and `hour << 12` overlap: Nov 2 22:00 and Nov 3 22:00 had the same key).
        let time = u64::from_le_bytes([
            now.second, now.minute, now.hour, now.day, now.month, 0, 0, 0,
        ]);
        let key = Some((self.id, pid, priority.value(), time));
        let cached = HEADER_3164.try_with(|cell| {
            let Ok(mut cache) = cell.try_borrow_mut() else {
                return false;
            };
            if cache.key == key {
                o.push(&cache.bytes);
                return true;
            }
            let start = o.buf.len();
            header_3164(o, priority, &self.ident, pid, now);
            // A header cut by a tiny size limit is not kept: the cache holds whole headers only.
            if !o.full {
                cache.bytes.clear();
                cache.bytes.extend_from_slice(&o.buf[start..]);
                cache.key = key;
            }
            true
        });
        if cached != Ok(true) {
            // The thread-local is gone (thread teardown) or borrowed: format it here instead.
            header_3164(o, priority, &self.ident, pid, now);
        }
    }

    /// `<PRI>1 2026-11-22T20:34:36.123456+01:00 HOST APP PID - ` (STRUCTURED-DATA follows).
    pub(super) fn header_5424(&self, o: &mut Out<'_>, rec: &Record<'_>, pid: u32, now: &Timestamp) {
        o.push(b"<");
        o.u64(u64::from(rec.priority.value()));
        o.push(b">1 ");
        o.push(now.rfc3339(true).as_bytes());
        o.push(b" ");
        if self.hostname.is_empty() {
            o.push(b"-");
        } else {
            o.sanitized(&self.hostname, &PRINT, MAX_HOSTNAME);
        }
        o.push(b" ");
        if self.ident.is_empty() {
            o.push(b"-");
        } else {
            o.sanitized(&self.ident, &PRINT, MAX_APP_NAME);
        }
        o.push(b" ");
        o.u64(u64::from(pid));
        o.push(b" - ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tests::*;
    use crate::format::*;
    // The test ident `web`, not the byte class.
    use crate::format::tests::IDENT;
    use crate::severity::Priority;
    use crate::{Facility, Severity};

    #[test]
    fn cached_headers_follow_renderer_pid_priority_and_second() {
        let header = |r: &Renderer, pri: Priority, pid: u32, now: &Timestamp| {
            let mut out = Vec::new();
            let rec = Record {
                priority: pri,
                message: Message::Display(&"m"),
                fields: &NoFields,
                spans: None,
            };
            r.render(&mut out, &rec, pid, now);
            String::from_utf8(out).unwrap()
        };
        let info = Priority::new(Facility::Local0, Severity::Informational);
        let err = Priority::new(Facility::Local1, Severity::Error);
        let a = renderer(Format::Logfmt, H3164, 8192);
        let b = Renderer::new(Format::Logfmt, H3164, "other".into(), "host".into(), 8192);
        let t = now();
        let later = Timestamp {
            second: t.second + 1,
            ..t
        };
        // Each variant differs from the base line in one input, and is rendered right after it,
        // when the cache holds the base line's header.
        let base = || header(&a, info, 7, &t);
        let variants: [(&dyn Fn() -> String, &str); 5] = [
            (&base, "<134>Nov  2 09:05:01 web[7]: m"),
            (
                &|| header(&b, info, 7, &t),
                "<134>Nov  2 09:05:01 other[7]: m",
            ),
            (
                &|| header(&a, info, 8, &t),
                "<134>Nov  2 09:05:01 web[8]: m",
            ),
            (&|| header(&a, err, 7, &t), "<139>Nov  2 09:05:01 web[7]: m"),
            (
                &|| header(&a, info, 7, &later),
                "<134>Nov  2 09:05:02 web[7]: m",
            ),
        ];
        for (variant, want) in variants {
            assert_eq!(base(), "<134>Nov  2 09:05:01 web[7]: m");
            assert_eq!(variant(), want);
            assert_eq!(variant(), want, "from the cache");
        }
        // A clone shares the id and the contents, so it shares cached headers correctly.
        assert_eq!(
            header(&a.clone(), info, 7, &t),
            "<134>Nov  2 09:05:01 web[7]: m"
        );
    }

    #[test]
    fn cached_header_changes_with_the_day_at_the_same_hour() {
        let r = renderer(Format::Logfmt, H3164, 8192);
        let at = |day: u8, hour: u8| Timestamp {
            month: 11,
            day,
            hour,
            minute: 0,
            second: 0,
            ..now()
        };
        // Rendered one after the other on this thread, so the second may come from the cache.
        let (s, _) = render_full(&r, &"x", &[], None, &at(2, 22));
        assert_eq!(s, "<134>Nov  2 22:00:00 web[4242]: x");
        let (s, _) = render_full(&r, &"x", &[], None, &at(3, 22));
        assert_eq!(s, "<134>Nov  3 22:00:00 web[4242]: x");
        // Another pair whose fields once packed to the same key.
        let (s, _) = render_full(&r, &"x", &[], None, &at(3, 6));
        assert_eq!(s, "<134>Nov  3 06:00:00 web[4242]: x");
        let (s, _) = render_full(&r, &"x", &[], None, &at(2, 22));
        assert_eq!(s, "<134>Nov  2 22:00:00 web[4242]: x");
    }

    #[test]
    fn rfc3164_header_pads_day_with_space_and_time_with_zero() {
        let r = renderer(Format::Logfmt, H3164, 8192);
        let mut t = now();
        t.day = 28;
        t.month = 1;
        t.hour = 23;
        let (s, _) = render_full(&r, &"x", &[], None, &t);
        assert_eq!(s, "<134>Jan 28 23:05:01 web[4242]: x");
    }

    #[test]
    fn libc_header_len_is_what_the_header_takes() {
        let pri = Priority::new;
        for (priority, pid) in [
            (pri(Facility::Kern, Severity::Emergency), 1),
            (pri(Facility::User, Severity::Alert), 9),
            (pri(Facility::User, Severity::Critical), 10),
            (pri(Facility::Local0, Severity::Informational), 4242),
            (pri(Facility::Local7, Severity::Debug), u32::MAX),
        ] {
            let mut out = Vec::new();
            write_rfc3164_header(&mut out, priority, IDENT, pid, &now());
            assert_eq!(
                libc_header_len(priority.value(), IDENT, pid),
                out.len(),
                "{}",
                String::from_utf8_lossy(&out)
            );
        }
    }

    #[test]
    fn standalone_rfc3164_header_matches_the_renderer() {
        let priority = Priority::new(Facility::Local1, Severity::Warning);
        let mut out = b"kept ".to_vec();
        write_rfc3164_header(&mut out, priority, IDENT, PID, &now());
        assert_eq!(out, b"kept <140>Nov  2 09:05:01 web[4242]: ");
    }

    #[test]
    fn rfc5424_timestamp_offsets() {
        let r = renderer(Format::Rfc5424, H5424, 8192);
        let mut t = now();
        t.utc_offset = 0;
        t.micros = 999_999;
        assert!(render_full(&r, &"x", &[], None, &t)
            .0
            .contains(" 2026-11-02T09:05:01.999999Z host "));
        t.utc_offset = -(5 * 3600 + 30 * 60);
        t.micros = 123_456;
        assert!(render_full(&r, &"x", &[], None, &t)
            .0
            .contains(" 2026-11-02T09:05:01.123456-05:30 host "));
    }

    #[test]
    fn rfc5424_header_sanitizes_hostname_and_app_name() {
        let mut r = renderer(Format::Rfc5424, H5424, 8192);
        r.hostname = "hôst name".to_owned();
        r.ident = "wéb".to_owned();
        assert!(render(&r, "x", &[]).0.contains(" h_st_name w_b 4242 - - x"));
        r.hostname = String::new();
        assert!(render(&r, "x", &[]).0.contains("+01:00 - w_b 4242 "));
    }
}
