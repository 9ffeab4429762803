//! Routing: which facility each record goes to.

use crate::Facility;

/// What a routing [`Rule`] matches on.
///
/// # Examples
///
/// ```
/// use fastsyslog::Match;
///
/// let access = Match::Target("access".into());
/// let errors = Match::Level(log::Level::Warn);
/// let flagged = Match::Field("access".into());
/// # let _ = (access, errors, flagged);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Match {
    /// The record's target is this string or starts with it followed by `::`.
    ///
    /// `Target("access")` matches targets `access` and `access::http` but not `accessory`; the empty
    /// string matches every target.
    Target(String),
    /// The record's level is this level or more severe (`Level(Warn)` matches `WARN` and `ERROR`).
    Level(log::Level),
    /// The record carries a key-value (`log` kv, or a `tracing` event field) with this key whose value
    /// is `true`, or any value other than `false`, `0` or the empty string.
    Field(String),
}

/// One routing rule: records that match go to `facility`.
///
/// Rules are tried in order; the first match wins, and a record that matches none goes to the
/// builder's default facility ([`Builder::default_facility`](crate::Builder::default_facility)).
///
/// # Examples
///
/// ```
/// use fastsyslog::{Facility, Match, Rule};
///
/// let rule = Rule::new(Match::Target("access".into()), Facility::Local0);
/// assert_eq!(rule.facility(), Facility::Local0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    matcher: Match,
    facility: Facility,
}

// === impl Rule ===

impl Rule {
    /// A rule sending records that match `matcher` to `facility`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Facility, Match, Rule};
    /// let rule = Rule::new(Match::Level(log::Level::Warn), Facility::Local2);
    /// assert_eq!(rule.matcher(), &Match::Level(log::Level::Warn));
    /// ```
    pub fn new(matcher: Match, facility: Facility) -> Self {
        Rule { matcher, facility }
    }

    /// What the rule matches.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Facility, Match, Rule};
    /// let rule = Rule::new(Match::Field("audit".into()), Facility::Local3);
    /// assert_eq!(rule.matcher(), &Match::Field("audit".into()));
    /// ```
    pub fn matcher(&self) -> &Match {
        &self.matcher
    }

    /// Where matching records go.
    ///
    /// # Examples
    ///
    /// ```
    /// # use fastsyslog::{Facility, Match, Rule};
    /// assert_eq!(Rule::new(Match::Target("a".into()), Facility::Local5).facility(), Facility::Local5);
    /// ```
    pub fn facility(&self) -> Facility {
        self.facility
    }
}

/// Whether `target` is `prefix` or lies below it in the `::` module hierarchy.
pub(crate) fn target_matches(target: &str, prefix: &str) -> bool {
    match target.strip_prefix(prefix) {
        Some(rest) => prefix.is_empty() || rest.is_empty() || rest.starts_with("::"),
        None => false,
    }
}

/// The ordered routing table, built once; [`Router::route`] runs per enabled record.
#[derive(Debug, Clone)]
pub(crate) struct Router {
    rules: Vec<Rule>,
    default: Facility,
    /// Whether any rule looks at fields, so adapters can skip the field scan when none does.
    uses_fields: bool,
}

// === impl Router ===

impl Router {
    pub(crate) fn new(rules: Vec<Rule>, default: Facility) -> Self {
        let uses_fields = rules.iter().any(|r| matches!(r.matcher, Match::Field(_)));
        Router {
            rules,
            default,
            uses_fields,
        }
    }

    /// Whether any rule matches on a field.
    pub(crate) fn uses_fields(&self) -> bool {
        self.uses_fields
    }

    /// The facility for a record. `has_field(key)` answers whether the record carries a truthy field
    /// `key`; it is only called for [`Match::Field`] rules.
    pub(crate) fn route(
        &self,
        target: &str,
        level: log::Level,
        has_field: &mut dyn FnMut(&str) -> bool,
    ) -> Facility {
        for rule in &self.rules {
            let hit = match &rule.matcher {
                Match::Target(prefix) => target_matches(target, prefix),
                Match::Level(min) => level <= *min,
                Match::Field(key) => has_field(key),
            };
            if hit {
                return rule.facility;
            }
        }
        self.default
    }

    /// Every facility this router can send to: each rule's, then the default, without repeats.
    pub(crate) fn facilities(&self) -> Vec<Facility> {
        let mut out: Vec<Facility> = Vec::new();
        for f in self.rules.iter().map(|r| r.facility).chain([self.default]) {
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }

    pub(crate) fn default_facility(&self) -> Facility {
        self.default
    }
}

/// Whether a field value counts as "set" for [`Match::Field`]: anything but `false`, `0` and `""`.
pub(crate) fn truthy(text: &str) -> bool {
    !matches!(text, "" | "false" | "0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::Level;

    fn no_fields(_: &str) -> bool {
        false
    }

    #[test]
    fn target_prefix_respects_module_boundaries() {
        let table = [
            ("access", "access", true),
            ("access::http", "access", true),
            ("accessory", "access", false),
            ("my_crate::access", "access", false),
            ("anything", "", true),
            ("acc", "access", false),
        ];
        for (target, prefix, want) in table {
            assert_eq!(target_matches(target, prefix), want, "{target} vs {prefix}");
        }
    }

    #[test]
    fn first_match_wins_and_default_is_last() {
        let router = Router::new(
            vec![
                Rule::new(Match::Level(Level::Warn), Facility::Local2),
                Rule::new(Match::Target("access".into()), Facility::Local0),
            ],
            Facility::Local1,
        );
        let table = [
            ("access", Level::Info, Facility::Local0),
            ("access", Level::Error, Facility::Local2),
            ("access", Level::Warn, Facility::Local2),
            ("app::db", Level::Warn, Facility::Local2),
            ("app::db", Level::Info, Facility::Local1),
            ("app::db", Level::Trace, Facility::Local1),
        ];
        for (target, level, want) in table {
            assert_eq!(
                router.route(target, level, &mut no_fields),
                want,
                "{target} {level}"
            );
        }
        assert_eq!(
            router.facilities(),
            vec![Facility::Local2, Facility::Local0, Facility::Local1]
        );
    }

    #[test]
    fn field_rules_ask_only_when_reached() {
        let router = Router::new(
            vec![
                Rule::new(Match::Target("access".into()), Facility::Local0),
                Rule::new(Match::Field("access".into()), Facility::Local0),
            ],
            Facility::Local1,
        );
        assert!(router.uses_fields());
        let mut asked = 0;
        let f = router.route("access", Level::Info, &mut |_| {
            asked += 1;
            true
        });
        assert_eq!((f, asked), (Facility::Local0, 0));
        let f = router.route("app", Level::Info, &mut |k| {
            asked += 1;
            k == "access"
        });
        assert_eq!((f, asked), (Facility::Local0, 1));
        assert_eq!(
            router.route("app", Level::Info, &mut no_fields),
            Facility::Local1
        );
    }

    #[test]
    fn truthy_values() {
        for (v, want) in [
            ("true", true),
            ("1", true),
            ("yes", true),
            ("false", false),
            ("0", false),
            ("", false),
        ] {
            assert_eq!(truthy(v), want, "{v:?}");
        }
    }
}
