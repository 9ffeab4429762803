//! The `tracing` adapters against a real rsyslogd: span fields in every body format, routing by
//! field and by target, `log` records forwarded through tracing-log, span slots that do not leak,
//! the `Layer` rendering like the `Subscriber`, and `init_tracing` (in a child process, since the
//! global default is one per process).
//!
//! Every subscriber here is `Mode::Sync` and used through `with_default`, so a record is on the
//! socket when the macro returns and the tests of this binary do not share a global subscriber.

use fastsyslog::{Builder, Facility, Format, Match, Mode, Subscriber};
use tracing::dispatcher::{self, Dispatch};

use crate::support::{
    child_role, child_token, expect_line, pid, rendered, run_child, token, Rsyslogd,
};

const INIT_CHILD: &str = "tracing_adapter::init_tracing_child";

fn builder(daemon: &Rsyslogd, ident: &str) -> Builder {
    Builder::new()
        .socket(daemon.socket())
        .ident(ident)
        .mode(Mode::Sync)
        .filter("debug")
}

fn dispatch(b: Builder) -> Dispatch {
    // Sync mode: the guard's drop only flushes, so the subscriber keeps sending without it.
    Dispatch::new(b.build_subscriber().expect("build the subscriber").0)
}

/// One event inside two nested spans; `db.rows` is recorded after the span was created.
fn nested(t: &str) {
    let req = tracing::info_span!("req", method = "GET", path = "/a b");
    let _req = req.enter();
    let db = tracing::info_span!("db", name = "users", rows = tracing::field::Empty);
    let _db = db.enter();
    db.record("rows", 3u64);
    tracing::info!(status = 200u16, ok = true, "done {t}");
}

#[test]
fn nested_span_fields_arrive_in_logfmt() {
    let daemon = Rsyslogd::start();
    let t = token("tracing_logfmt");
    dispatcher::with_default(&dispatch(builder(&daemon, "it-tr")), || nested(&t));
    assert_eq!(
        rendered(&daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 1)),
        [expect_line(
            142,
            "it-tr",
            &pid(),
            &format!(
                "done {t} req.method=GET req.path=\"/a b\" db.name=users db.rows=3 status=200 ok=true"
            )
        )]
    );
}

#[test]
fn nested_span_fields_arrive_as_rfc5424_structured_data() {
    let daemon = Rsyslogd::builder()
        .file_with_template("sd.log", "%app-name%|%structured-data%|%msg%\\n")
        .start();
    let t = token("tracing_5424");
    let b = builder(&daemon, "it-tr5424").format(Format::Rfc5424);
    dispatcher::with_default(&dispatch(b), || nested(&t));
    assert_eq!(
        daemon.wait_for_raw("sd.log", &t),
        [format!(
            "it-tr5424|[span1@32473 name=\"req\" method=\"GET\" path=\"/a b\"]\
             [span2@32473 name=\"db\" _name=\"users\" rows=\"3\"]\
             [fields@32473 status=\"200\" ok=\"true\"]|done {t}"
        )]
    );
}

#[test]
fn nested_span_fields_arrive_as_one_json_object() {
    let daemon = Rsyslogd::builder()
        .config(
            "module(load=\"mmjsonparse\")\n\
             template(name=\"t_json\" type=\"string\" \
               string=\"OK|%$!msg%|%$!status%|%$!ok%|%$!spans%\\n\")\n\
             action(type=\"mmjsonparse\")\n\
             if $parsesuccess == \"OK\" then \
               action(type=\"omfile\" file=\"{dir}/json.log\" template=\"t_json\")",
        )
        .start();
    let t = token("tracing_json");
    let b = builder(&daemon, "it-trjson").format(Format::Json);
    dispatcher::with_default(&dispatch(b), || nested(&t));
    assert_eq!(
        rendered(&daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 1)),
        [expect_line(
            142,
            "it-trjson",
            &pid(),
            &format!(
                "@cee: {{\"msg\":\"done {t}\",\"spans\":[{{\"name\":\"req\",\"method\":\"GET\",\
                 \"path\":\"/a b\"}},{{\"name\":\"db\",\"_name\":\"users\",\"rows\":3}}],\
                 \"status\":200,\"ok\":true}}"
            )
        )]
    );
    // rsyslog's JSON parser accepts the body as one object (only then is json.log written) and
    // finds the nested span array.
    let parsed = daemon.wait_for_raw("json.log", &t);
    assert_eq!(parsed.len(), 1, "{parsed:?}");
    let fields: Vec<&str> = parsed[0].splitn(5, '|').collect();
    assert_eq!(
        fields[..4],
        ["OK", &format!("done {t}"), "200", "true"],
        "{parsed:?}"
    );
    let spans: String = fields[4].chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(
        spans,
        // json-c, re-serialising, writes `/` as `\/`; whitespace was removed above.
        r#"[{"name":"req","method":"GET","path":"\/ab"},{"name":"db","_name":"users","rows":3}]"#,
        "{parsed:?}"
    );
}

#[test]
fn routes_by_field_and_by_target() {
    let daemon = Rsyslogd::start();
    let t = token("tracing_route");
    let b = builder(&daemon, "it-trroute").route(Match::Field("access".into()), Facility::Local0);
    dispatcher::with_default(&dispatch(b), || {
        let _span = tracing::info_span!("req", id = 1).entered();
        tracing::info!(access = true, status = 200, "by field {t}");
        tracing::info!(target: "access::http", "by target {t}");
        tracing::info!(access = false, "not access {t}");
        tracing::error!("failed {t}");
        tracing::trace!("trace is off {t}");
    });
    let p = pid();
    assert_eq!(
        rendered(&daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 2)),
        [
            expect_line(
                134,
                "it-trroute",
                &p,
                &format!("by field {t} req.id=1 access=true status=200")
            ),
            expect_line(134, "it-trroute", &p, &format!("by target {t} req.id=1")),
        ]
    );
    assert_eq!(
        rendered(&daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 2)),
        [
            expect_line(
                142,
                "it-trroute",
                &p,
                &format!("not access {t} req.id=1 access=false")
            ),
            expect_line(139, "it-trroute", &p, &format!("failed {t} req.id=1")),
        ]
    );
    assert!(daemon
        .lines_with(Rsyslogd::ALL, &format!("trace is off {t}"))
        .is_empty());
}

#[test]
fn log_records_through_tracing_keep_their_target() {
    let daemon = Rsyslogd::start();
    let t = token("tracing_log");
    let b = builder(&daemon, "it-trlog").filter("warn,access=info");
    dispatcher::with_default(&dispatch(b), || {
        // What `tracing_log::LogTracer` does for each record (without installing a global logger).
        let forward = |target: &str, msg: &str| {
            tracing_log::format_trace(
                &log::Record::builder()
                    .args(format_args!("{msg}"))
                    .level(log::Level::Info)
                    .target(target)
                    .module_path_static(Some("server::http"))
                    .file_static(Some("src/http.rs"))
                    .line(Some(42))
                    .build(),
            )
            .expect("format_trace");
        };
        let _span = tracing::warn_span!("conn", peer = "10.0.0.1").entered();
        forward("access", &format!("GET / {t}"));
        forward("app", &format!("filtered by its own target {t}"));
    });
    assert_eq!(
        rendered(&daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 1)),
        [expect_line(
            134,
            "it-trlog",
            &pid(),
            &format!("GET / {t} conn.peer=10.0.0.1")
        )]
    );
    assert!(daemon.lines_with(Rsyslogd::ALL, "filtered by").is_empty());
}

#[test]
fn span_slots_are_reused_without_stale_fields() {
    let daemon = Rsyslogd::start();
    let t = token("tracing_reuse");
    let (subscriber, _guard): (Subscriber, fastsyslog::WorkerGuard) =
        builder(&daemon, "it-trreuse").build_subscriber().unwrap();
    let dispatch = Dispatch::new(subscriber);
    dispatcher::with_default(&dispatch, || {
        for i in 0..10_000u32 {
            let _s = tracing::info_span!("old", i, secret = "stale").entered();
        }
        let _fresh = tracing::info_span!("fresh").entered();
        tracing::info!("after reuse {t}");
    });
    assert_eq!(
        rendered(&daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 1)),
        [expect_line(
            142,
            "it-trreuse",
            &pid(),
            &format!("after reuse {t}")
        )]
    );
    let debug = format!("{:?}", dispatch.downcast_ref::<Subscriber>().unwrap());
    assert!(debug.contains("live_spans: 0"), "{debug}");
}

#[cfg(feature = "layer")]
#[test]
fn layer_renders_like_the_subscriber() {
    use tracing_subscriber::prelude::*;

    let daemon = Rsyslogd::start();
    let t = token("tracing_layer");
    let (layer, _guard) = builder(&daemon, "it-trlayer")
        .route(Match::Field("access".into()), Facility::Local0)
        .build_layer()
        .unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(layer);
    tracing::subscriber::with_default(subscriber, || {
        nested(&t);
        tracing::info!(access = true, "access {t}");
        tracing::debug!("filtered by EnvFilter {t}");
    });
    let p = pid();
    assert_eq!(
        rendered(&daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 1)),
        [expect_line(
            142,
            "it-trlayer",
            &p,
            &format!(
                "done {t} req.method=GET req.path=\"/a b\" db.name=users db.rows=3 status=200 ok=true"
            )
        )]
    );
    assert_eq!(
        rendered(&daemon.wait_for_token(Rsyslogd::LOCAL0, &t, 1)),
        [expect_line(
            134,
            "it-trlayer",
            &p,
            &format!("access {t} access=true")
        )]
    );
}

#[test]
fn init_tracing_child() {
    let Some(socket) = child_role(INIT_CHILD) else {
        return;
    };
    let t = child_token();
    let guard = Builder::from_env()
        .socket(socket)
        .mode(Mode::Sync)
        .try_init_tracing()
        .expect("init_tracing");
    let again = fastsyslog::try_init_tracing().unwrap_err();
    assert_eq!(again.kind(), fastsyslog::ErrorKind::AlreadyInitialized);
    assert_eq!(
        tracing::level_filters::LevelFilter::current(),
        tracing::level_filters::LevelFilter::DEBUG
    );
    let _span = tracing::info_span!("job", n = 1).entered();
    tracing::debug!(target: "app", "global {t}");
    tracing::trace!(target: "app", "trace is off {t}");
    assert!(guard.flush());
    assert_eq!(fastsyslog::stats().expect("global stats").written, 1);
}

#[test]
fn init_tracing_sets_the_global_default() {
    let daemon = Rsyslogd::start();
    let t = token("tracing_init");
    let out = run_child(
        INIT_CHILD,
        &daemon.socket(),
        &t,
        &[
            ("FASTSYSLOG_LOG", "debug"),
            ("FASTSYSLOG_IDENT", "it-trinit"),
        ],
    );
    assert_eq!(
        rendered(&daemon.wait_for_token(Rsyslogd::LOCAL1, &t, 1)),
        [expect_line(
            143,
            "it-trinit",
            &out.pid.to_string(),
            &format!("global {t} job.n=1")
        )]
    );
}
