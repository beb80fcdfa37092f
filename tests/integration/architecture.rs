//! The walls of the domain core, checked on the source: money, enterprise,
//! catalog, matching, riskpool and incentive read no file, no clock, no
//! environment, and know nothing of the wire, the store, the command line
//! or the configuration. Adapters (`files`, `store`, `config`, `server`,
//! `cli`) hand them text, values and `today`.

use std::path::{Path, PathBuf};

/// The domain modules, relative to `src/`.
const DOMAIN: &[&str] = &[
    "money.rs",
    "enterprise",
    "catalog",
    "matching",
    "riskpool",
    "incentive",
];

/// What a domain source line may not contain, and why.
const FORBIDDEN: &[(&str, &str)] = &[
    ("crate::server", "an adapter (the gRPC server)"),
    ("crate::store", "an adapter (the database)"),
    ("crate::cli", "an adapter (the command line)"),
    ("crate::config", "an adapter (configuration)"),
    ("crate::files", "an adapter (files and the clock)"),
    ("tonic", "the wire"),
    ("prost", "the wire"),
    ("pb::", "the wire (generated proto types)"),
    ("as_str_name", "the wire (proto enum names)"),
    ("proto_name", "the wire (proto enum names)"),
    ("tokio", "the async runtime"),
    ("rusqlite", "the database"),
    ("clap", "the command line"),
    ("indicatif", "the terminal"),
    ("tracing", "logging (an adapter's business)"),
    ("std::fs", "a file"),
    ("File::", "a file"),
    ("std::env", "the environment"),
    ("std::net", "the network"),
    ("std::process", "processes"),
    ("Utc::now", "the clock"),
    ("Local::now", "the clock"),
    ("SystemTime", "the clock"),
    ("Instant::now", "the clock"),
    ("stdin", "the terminal"),
    ("stdout", "the terminal"),
    ("println!", "the terminal"),
    ("eprintln!", "the terminal"),
];

fn rust_files(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for e in entries {
            rust_files(&e, out);
        }
    } else if p.extension().is_some_and(|e| e == "rs") {
        out.push(p.to_path_buf());
    }
}

/// Every (file:line, pattern, why) where `text` breaks a wall. Comments
/// and doc comments are prose, not code.
fn breaches(name: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let code = code.split(" //").next().unwrap_or(code);
        for (pat, why) in FORBIDDEN {
            if code.contains(pat) {
                out.push(format!("{name}:{}: `{pat}` reaches {why}: {line}", i + 1));
            }
        }
    }
    out
}

#[test]
fn the_domain_core_reads_no_file_no_clock_and_knows_no_adapter() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for d in DOMAIN {
        rust_files(&src.join(d), &mut files);
    }
    assert!(files.len() >= 20, "found only {} domain files", files.len());
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        found.extend(breaches(
            &f.strip_prefix(&src).unwrap().display().to_string(),
            &text,
        ));
    }
    assert!(
        found.is_empty(),
        "the domain core reaches outside itself:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_would_catch_a_breach() {
    let bad = "use crate::store::Store;\n// std::fs in a comment is fine\nlet t = chrono::Utc::now();\nlet s = std::fs::read_to_string(p)?; // read\n";
    let found = breaches("x.rs", bad);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].starts_with("x.rs:1: `crate::store`"));
    assert!(found[1].starts_with("x.rs:3: `Utc::now`"));
    assert!(found[2].starts_with("x.rs:4: `std::fs`"));
}
