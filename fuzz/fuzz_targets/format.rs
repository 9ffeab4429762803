//! Fuzzes the renderer (formatting, escaping, truncation) through `fastsyslog::fuzzing::render`
//! and checks every output with `fastsyslog::invariants::check`, the invariants the property tests in
//! `src/format/invariants.rs` check too: one message, valid UTF-8, within the limit, marked
//! exactly when cut, and JSON / STRUCTURED-DATA bodies that round-trip. `fastsyslog::fuzzing`
//! exists only under `--cfg fuzzing`, which cargo-fuzz passes.
#![no_main]

use arbitrary::Arbitrary;
use fastsyslog::fuzzing::{render, FuzzValue, Input};
use fastsyslog::invariants::check;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Val {
    /// Raw bytes, made text the way a caller would (`from_utf8_lossy`), so invalid UTF-8 is covered.
    Bytes(Vec<u8>),
    Str(String),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

#[derive(Arbitrary, Debug)]
struct Case {
    format: u8,
    framing: u8,
    max_len: u16,
    /// Limits past 64 KiB too (up to the builder's 128 KiB maximum).
    wide: bool,
    ident: String,
    message: Vec<u8>,
    fields: Vec<(String, Val)>,
    spans: Vec<(String, Vec<(String, Val)>)>,
}

/// Owned text for every value, so the borrowed `FuzzValue`s below can point into it.
fn texts(fields: &[(String, Val)]) -> Vec<String> {
    fields
        .iter()
        .map(|(_, v)| match v {
            Val::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Val::Str(s) => s.clone(),
            _ => String::new(),
        })
        .collect()
}

fn borrow<'a>(fields: &'a [(String, Val)], texts: &'a [String]) -> Vec<(&'a str, FuzzValue<'a>)> {
    fields
        .iter()
        .zip(texts)
        .map(|((k, v), t)| {
            let v = match v {
                Val::Bytes(_) | Val::Str(_) => FuzzValue::Str(t),
                Val::I64(n) => FuzzValue::I64(*n),
                Val::U64(n) => FuzzValue::U64(*n),
                Val::F64(n) => FuzzValue::F64(*n),
                Val::Bool(b) => FuzzValue::Bool(*b),
            };
            (k.as_str(), v)
        })
        .collect()
}

fuzz_target!(|case: Case| {
    let message = String::from_utf8_lossy(&case.message);
    let field_texts = texts(&case.fields);
    let fields = borrow(&case.fields, &field_texts);
    let span_texts: Vec<Vec<String>> = case.spans.iter().map(|(_, f)| texts(f)).collect();
    let span_fields: Vec<Vec<(&str, FuzzValue<'_>)>> = case
        .spans
        .iter()
        .zip(&span_texts)
        .map(|((_, f), t)| borrow(f, t))
        .collect();
    let spans: Vec<(&str, &[(&str, FuzzValue<'_>)])> = case
        .spans
        .iter()
        .zip(&span_fields)
        .map(|((name, _), f)| (name.as_str(), f.as_slice()))
        .collect();
    let max_len = usize::from(case.max_len) * if case.wide { 2 } else { 1 };
    let input = Input {
        format: case.format,
        framing: case.framing,
        max_len,
        ident: &case.ident,
        message: &message,
        fields: &fields,
        spans: &spans,
    };
    let out = render(&input);
    if let Err(e) = check(&input, &out) {
        panic!(
            "{e}\ninput: {input:?}\noutput: {:?}",
            String::from_utf8_lossy(&out.bytes)
        );
    }
});
