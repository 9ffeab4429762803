//! Syslog facilities (RFC 5424 §6.2.1).

use std::fmt;
use std::str::FromStr;

use crate::error::ParseFacilityError;

/// A syslog facility: which subsystem a message belongs to, and so where syslogd routes it.
///
/// All 24 facilities of RFC 5424 are here. The ones a server uses for its own records are
/// [`Local0`](Facility::Local0) to [`Local7`](Facility::Local7); by default fastsyslog sends access
/// records to `local0` and everything else to `local1`.
///
/// Parses from its name in any case (`local0`, `LOCAL0`, with or without a `log_` prefix) or from its
/// code (`16`); displays as the lowercase name rsyslog's `%syslogfacility-text%` prints.
///
/// | code | name | code | name |
/// |---|---|---|---|
/// | 0 | `kern` | 12 | `ntp` |
/// | 1 | `user` | 13 | `security` (alias `audit`) |
/// | 2 | `mail` | 14 | `console` (alias `alert`) |
/// | 3 | `daemon` | 15 | `solaris-cron` (alias `clock`) |
/// | 4 | `auth` | 16 | `local0` |
/// | 5 | `syslog` | 17 | `local1` |
/// | 6 | `lpr` | 18 | `local2` |
/// | 7 | `news` | 19 | `local3` |
/// | 8 | `uucp` | 20 | `local4` |
/// | 9 | `cron` | 21 | `local5` |
/// | 10 | `authpriv` | 22 | `local6` |
/// | 11 | `ftp` | 23 | `local7` |
///
/// # Examples
///
/// ```
/// use fastsyslog::Facility;
///
/// assert_eq!("local0".parse::<Facility>(), Ok(Facility::Local0));
/// assert_eq!("LOCAL1".parse::<Facility>(), Ok(Facility::Local1));
/// assert_eq!("16".parse::<Facility>(), Ok(Facility::Local0));
/// assert_eq!(Facility::Local7.code(), 23);
/// assert_eq!(Facility::Local7.to_string(), "local7");
/// assert!("local8".parse::<Facility>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Facility {
    /// Kernel messages (0). Not usable with the libc transport: `syslog(3)` reads 0 as "no facility".
    Kern = 0,
    /// User-level messages (1).
    User = 1,
    /// Mail system (2).
    Mail = 2,
    /// System daemons (3).
    Daemon = 3,
    /// Security/authorization messages (4).
    Auth = 4,
    /// Messages generated internally by syslogd (5).
    Syslog = 5,
    /// Line printer subsystem (6).
    Lpr = 6,
    /// Network news subsystem (7).
    News = 7,
    /// UUCP subsystem (8).
    Uucp = 8,
    /// Clock daemon (9).
    Cron = 9,
    /// Private security/authorization messages (10).
    Authpriv = 10,
    /// FTP daemon (11).
    Ftp = 11,
    /// NTP subsystem (12).
    Ntp = 12,
    /// Log audit (13).
    Security = 13,
    /// Log alert (14).
    Console = 14,
    /// Clock daemon, second instance (15).
    SolarisCron = 15,
    /// Local use 0 (16): fastsyslog's default for access records.
    Local0 = 16,
    /// Local use 1 (17): fastsyslog's default for everything else.
    Local1 = 17,
    /// Local use 2 (18).
    Local2 = 18,
    /// Local use 3 (19).
    Local3 = 19,
    /// Local use 4 (20).
    Local4 = 20,
    /// Local use 5 (21).
    Local5 = 21,
    /// Local use 6 (22).
    Local6 = 22,
    /// Local use 7 (23).
    Local7 = 23,
}

const ALL: [Facility; 24] = [
    Facility::Kern,
    Facility::User,
    Facility::Mail,
    Facility::Daemon,
    Facility::Auth,
    Facility::Syslog,
    Facility::Lpr,
    Facility::News,
    Facility::Uucp,
    Facility::Cron,
    Facility::Authpriv,
    Facility::Ftp,
    Facility::Ntp,
    Facility::Security,
    Facility::Console,
    Facility::SolarisCron,
    Facility::Local0,
    Facility::Local1,
    Facility::Local2,
    Facility::Local3,
    Facility::Local4,
    Facility::Local5,
    Facility::Local6,
    Facility::Local7,
];

// === impl Facility ===

impl Facility {
    /// The facility's numeric code, 0 to 23.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(fastsyslog::Facility::Local0.code(), 16);
    /// ```
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The facility with numeric code `code`, or `None` when `code > 23`.
    ///
    /// # Examples
    ///
    /// ```
    /// use fastsyslog::Facility;
    /// assert_eq!(Facility::from_code(17), Some(Facility::Local1));
    /// assert_eq!(Facility::from_code(24), None);
    /// ```
    pub const fn from_code(code: u8) -> Option<Facility> {
        if (code as usize) < ALL.len() {
            Some(ALL[code as usize])
        } else {
            None
        }
    }

    /// All 24 facilities in code order.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(fastsyslog::Facility::all().len(), 24);
    /// ```
    pub const fn all() -> &'static [Facility; 24] {
        &ALL
    }

    /// The lowercase name, as rsyslog's `%syslogfacility-text%` and syslog-ng's `facility()` use it.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(fastsyslog::Facility::Authpriv.name(), "authpriv");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Facility::Kern => "kern",
            Facility::User => "user",
            Facility::Mail => "mail",
            Facility::Daemon => "daemon",
            Facility::Auth => "auth",
            Facility::Syslog => "syslog",
            Facility::Lpr => "lpr",
            Facility::News => "news",
            Facility::Uucp => "uucp",
            Facility::Cron => "cron",
            Facility::Authpriv => "authpriv",
            Facility::Ftp => "ftp",
            Facility::Ntp => "ntp",
            Facility::Security => "security",
            Facility::Console => "console",
            Facility::SolarisCron => "solaris-cron",
            Facility::Local0 => "local0",
            Facility::Local1 => "local1",
            Facility::Local2 => "local2",
            Facility::Local3 => "local3",
            Facility::Local4 => "local4",
            Facility::Local5 => "local5",
            Facility::Local6 => "local6",
            Facility::Local7 => "local7",
        }
    }

    /// The value of the matching `libc::LOG_*` constant: the code shifted left by 3.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(fastsyslog::Facility::Local0.as_raw(), 16 << 3);
    /// ```
    pub const fn as_raw(self) -> i32 {
        (self as i32) << 3
    }
}

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Facility {
    type Err = ParseFacilityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseFacilityError::new(s);
        let t = s.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            return t
                .parse::<u8>()
                .ok()
                .and_then(Facility::from_code)
                .ok_or_else(err);
        }
        let lower = t.to_ascii_lowercase();
        let name = lower.strip_prefix("log_").unwrap_or(&lower);
        let alias = match name {
            "audit" => Some(Facility::Security),
            "alert" => Some(Facility::Console),
            "clock" | "cron2" | "solaris_cron" => Some(Facility::SolarisCron),
            _ => None,
        };
        alias
            .or_else(|| ALL.iter().copied().find(|f| f.name() == name))
            .ok_or_else(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_libc_constants() {
        let table = [
            (Facility::Kern, libc::LOG_KERN),
            (Facility::User, libc::LOG_USER),
            (Facility::Mail, libc::LOG_MAIL),
            (Facility::Daemon, libc::LOG_DAEMON),
            (Facility::Auth, libc::LOG_AUTH),
            (Facility::Syslog, libc::LOG_SYSLOG),
            (Facility::Lpr, libc::LOG_LPR),
            (Facility::News, libc::LOG_NEWS),
            (Facility::Uucp, libc::LOG_UUCP),
            (Facility::Cron, libc::LOG_CRON),
            (Facility::Authpriv, libc::LOG_AUTHPRIV),
            (Facility::Ftp, libc::LOG_FTP),
            (Facility::Local0, libc::LOG_LOCAL0),
            (Facility::Local1, libc::LOG_LOCAL1),
            (Facility::Local2, libc::LOG_LOCAL2),
            (Facility::Local3, libc::LOG_LOCAL3),
            (Facility::Local4, libc::LOG_LOCAL4),
            (Facility::Local5, libc::LOG_LOCAL5),
            (Facility::Local6, libc::LOG_LOCAL6),
            (Facility::Local7, libc::LOG_LOCAL7),
        ];
        for (facility, raw) in table {
            assert_eq!(facility.as_raw(), raw, "{facility}");
        }
    }

    #[test]
    fn parses_names_codes_and_case() {
        let table = [
            ("local0", Some(Facility::Local0)),
            ("LOCAL0", Some(Facility::Local0)),
            ("Local7", Some(Facility::Local7)),
            ("LOG_LOCAL3", Some(Facility::Local3)),
            ("16", Some(Facility::Local0)),
            ("0", Some(Facility::Kern)),
            ("23", Some(Facility::Local7)),
            ("24", None),
            ("256", None),
            ("-1", None),
            ("local8", None),
            ("", None),
            ("audit", Some(Facility::Security)),
            ("solaris-cron", Some(Facility::SolarisCron)),
        ];
        for (input, want) in table {
            assert_eq!(input.parse::<Facility>().ok(), want, "{input:?}");
        }
    }

    #[test]
    fn display_round_trips_for_all() {
        for (code, f) in Facility::all().iter().enumerate() {
            assert_eq!(f.code() as usize, code);
            assert_eq!(f.to_string().parse::<Facility>(), Ok(*f));
            assert_eq!(f.code().to_string().parse::<Facility>(), Ok(*f));
        }
    }
}
