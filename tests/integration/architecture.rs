//! The walls inside `src/`, checked on the parsed source (every `use` and
//! every path, by `syn`; comments and doc comments are prose, not code):
//!
//! - each room of the crate sits on a floor of [`LAYERS`] and reaches only
//!   rooms on lower floors (so no import goes up and none goes round in a
//!   circle); inside `riskpool/`, [`RISKPOOL`] does the same for its files;
//! - the domain (kernel, enterprise, catalog, matching, riskpool,
//!   incentive) reads no file, no clock, no environment and knows nothing
//!   of the wire, the store, the command line or the configuration: the
//!   adapters hand it text, values and `today`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// The floors of the crate, lowest first: a room may reach a room on a
/// lower floor, never one on its own floor or above.
const LAYERS: &[&[&str]] = &[
    &["kernel"],
    &["enterprise", "riskpool", "incentive", "ledger"],
    &["catalog", "livebook"],
    &["matching"],
    &["report", "store", "files"],
    &["config"],
    &["server"],
    &["cli"],
    &["lib", "main"],
];

/// The floors inside `riskpool/`, lowest first (the analytic engine is
/// one room).
const RISKPOOL: &[&[&str]] = &[
    &["oracle", "control", "raw", "spec"],
    &["scenarios", "validate", "book"],
    &["plan"],
    &["model"],
    &["engine"],
    &["stats"],
    &["analytic"],
    &["run"],
    &["shard"],
    &["grid"],
    &["mod"],
];

/// The domain, which reaches no adapter and no outside world.
const DOMAIN: &[&str] = &[
    "kernel",
    "enterprise",
    "catalog",
    "matching",
    "riskpool",
    "incentive",
    "ledger",
    "livebook",
];

/// What a domain path may not start with, and why.
const FORBIDDEN: &[(&str, &str)] = &[
    ("tonic", "the wire"),
    ("prost", "the wire"),
    ("tokio", "the async runtime"),
    ("rusqlite", "the database"),
    ("postgres", "the database"),
    ("clap", "the command line"),
    ("indicatif", "the terminal"),
    ("tracing", "logging (an adapter's business)"),
    ("std::fs", "a file"),
    ("std::env", "the environment"),
    ("std::net", "the network"),
    ("std::process", "processes"),
    ("std::io::stdin", "the terminal"),
    ("std::io::stdout", "the terminal"),
    ("std::time::SystemTime", "the clock"),
    ("std::time::Instant", "the clock"),
    ("SystemTime", "the clock"),
    ("Instant::now", "the clock"),
    ("File", "a file"),
    ("Utc::now", "the clock"),
    ("Local::now", "the clock"),
    ("chrono::Utc::now", "the clock"),
    ("chrono::Local::now", "the clock"),
    ("println", "the terminal"),
    ("eprintln", "the terminal"),
    ("print", "the terminal"),
    ("eprint", "the terminal"),
];

fn floor(table: &[&[&str]], room: &str) -> Option<usize> {
    table.iter().position(|f| f.contains(&room))
}

/// Where a file sits: its room (`riskpool`, `kernel`, `lib`) and, inside
/// `riskpool/`, its room there (`engine`, `analytic`, `mod`).
#[derive(Debug, Clone)]
struct Place {
    room: String,
    inner: Option<String>,
    /// The module path of the file (`["riskpool", "analytic"]` for
    /// `riskpool/analytic/mod.rs`), for resolving `super::` and `self::`.
    module: Vec<String>,
}

fn place(rel: &Path) -> Place {
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut module: Vec<String> = parts
        .iter()
        .map(|p| p.trim_end_matches(".rs").to_string())
        .collect();
    if module.last().is_some_and(|m| m == "mod") {
        module.pop();
    }
    if module == ["lib"] || module == ["main"] {
        return Place {
            room: module[0].clone(),
            inner: None,
            module: Vec::new(),
        };
    }
    let room = module[0].clone();
    let inner =
        (room == "riskpool").then(|| module.get(1).cloned().unwrap_or_else(|| "mod".into()));
    Place {
        room,
        inner,
        module,
    }
}

/// Every path the code names, as `a::b::c` (use trees expanded; macro
/// invocations by their path), with its line.
#[derive(Default)]
struct Paths {
    found: Vec<(usize, Vec<String>)>,
}

impl Paths {
    fn tree(&mut self, prefix: &mut Vec<String>, t: &syn::UseTree) {
        match t {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut v = prefix.clone();
                v.push(n.ident.to_string());
                self.found.push((n.ident.span().start().line, v));
            }
            syn::UseTree::Rename(r) => {
                let mut v = prefix.clone();
                v.push(r.ident.to_string());
                self.found.push((r.ident.span().start().line, v));
            }
            syn::UseTree::Glob(g) => {
                self.found
                    .push((g.star_token.spans[0].start().line, prefix.clone()));
            }
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.tree(prefix, t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    // (`pub(super)` names who may see an item, not what it reaches)
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}
    // (a room's unit tests may reach across, as tests of their room)
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let test = m.attrs.iter().any(|a| {
            a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
        });
        if !test {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let mut prefix = Vec::new();
        if u.leading_colon.is_some() {
            prefix.push(String::new());
        }
        self.tree(&mut prefix, &u.tree);
    }
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(first) = p.segments.first() {
            self.found.push((first.ident.span().start().line, segs));
        }
        syn::visit::visit_path(self, p);
    }
}

/// `path` as seen from `at`: the crate room it reaches (and inside
/// `riskpool/`, the inner room), or `None` for outside crates and std.
fn resolve(at: &Place, path: &[String]) -> Option<(String, Option<String>)> {
    let mut module: Vec<String>;
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => {
            module = Vec::new();
            rest = &path[1..];
        }
        Some("smefin") if at.room == "main" => {
            module = Vec::new();
            rest = &path[1..];
        }
        Some("super") | Some("self") => {
            module = at.module.clone();
            while let Some(s) = rest.first() {
                match s.as_str() {
                    "super" => {
                        module.pop()?;
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    module.extend(rest.iter().cloned());
    let room = module.first()?.clone();
    if !LAYERS.iter().any(|f| f.contains(&room.as_str())) {
        return None;
    }
    let inner =
        (room == "riskpool").then(|| module.get(1).cloned().unwrap_or_else(|| "mod".into()));
    Some((room, inner))
}

/// Every breach of the walls in one file's source, as `file:line: why`.
fn breaches(rel: &Path, text: &str) -> Vec<String> {
    let file = syn::parse_file(text).unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
    let at = place(rel);
    let mut paths = Paths::default();
    paths.visit_file(&file);
    let mut out = BTreeSet::new();
    let name = rel.display();
    for (line, p) in &paths.found {
        let joined = p.join("::");
        if DOMAIN.contains(&at.room.as_str()) {
            for (pat, why) in FORBIDDEN {
                let hit = joined == *pat
                    || joined.starts_with(&format!("{pat}::"))
                    || (!pat.contains("::") && p.first().is_some_and(|s| s == pat) && p.len() == 1);
                if hit {
                    out.insert(format!("{name}:{line}: `{joined}` reaches {why}"));
                }
            }
        }
        let Some((room, inner)) = resolve(&at, p) else {
            continue;
        };
        if room == at.room {
            if let (Some(a), Some(b)) = (&at.inner, &inner)
                && a != b
            {
                let (fa, fb) = (floor(RISKPOOL, a), floor(RISKPOOL, b));
                match (fa, fb) {
                    (Some(fa), Some(fb)) if fb < fa => {}
                    (None, _) | (_, None) => {
                        if !(b == "tests" || a == "tests") {
                            out.insert(format!(
                                "{name}:{line}: riskpool room `{}` is on no floor of RISKPOOL",
                                if fa.is_none() { a } else { b }
                            ));
                        }
                    }
                    _ => {
                        out.insert(format!(
                            "{name}:{line}: riskpool::{a} reaches riskpool::{b} (`{joined}`), on its own floor or above"
                        ));
                    }
                }
            }
            continue;
        }
        let (fa, fb) = (floor(LAYERS, &at.room), floor(LAYERS, &room));
        match (fa, fb) {
            (Some(fa), Some(fb)) if fb < fa => {}
            (None, _) => {
                out.insert(format!(
                    "{name}: room `{}` is on no floor of LAYERS",
                    at.room
                ));
            }
            _ => {
                out.insert(format!(
                    "{name}:{line}: {} reaches {room} (`{joined}`), on its own floor or above",
                    at.room
                ));
            }
        }
    }
    out.into_iter().collect()
}

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

#[test]
fn every_import_runs_down_the_layer_table_and_the_domain_reaches_no_adapter() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() >= 60, "found only {} source files", files.len());
    let mut found = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        // (unit tests may reach across, as tests of their room)
        if rel.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        found.extend(breaches(rel, &std::fs::read_to_string(f).unwrap()));
    }
    assert!(
        found.is_empty(),
        "the walls are breached:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_catches_a_planted_breach() {
    let bad = r#"
//! `crate::store` in a doc comment is prose.
use crate::kernel::money::Yuan;
use crate::store::{Store, postgres};
use super::engine::Engine;
fn f() {
    // std::fs in a comment is fine
    let t = chrono::Utc::now();
    let s = std::fs::read_to_string("x");
    crate::cli::main();
    println!("x");
}
"#;
    let found = breaches(Path::new("riskpool/plan.rs"), bad);
    let want = [
        "riskpool/plan.rs:4: riskpool reaches store (`crate::store::Store`)",
        "riskpool/plan.rs:4: riskpool reaches store (`crate::store::postgres`)",
        "riskpool/plan.rs:5: riskpool::plan reaches riskpool::engine (`super::engine::Engine`)",
        "riskpool/plan.rs:8: `chrono::Utc::now` reaches the clock",
        "riskpool/plan.rs:9: `std::fs::read_to_string` reaches a file",
        "riskpool/plan.rs:10: riskpool reaches cli (`crate::cli::main`)",
        "riskpool/plan.rs:11: `println` reaches the terminal",
    ];
    for w in want {
        assert!(
            found.iter().any(|f| f.starts_with(w)),
            "missed {w:?} in {found:#?}"
        );
    }
    assert_eq!(found.len(), want.len(), "{found:#?}");
    // An adapter may reach down into the domain, not up into the CLI.
    assert!(breaches(Path::new("server/mod.rs"), "use crate::riskpool::Model;").is_empty());
    let up = breaches(Path::new("server/mod.rs"), "use crate::cli::Cli;");
    assert_eq!(up.len(), 1, "{up:#?}");
    // A sibling on the same floor is a breach too.
    assert_eq!(
        breaches(Path::new("store/mod.rs"), "use crate::report::RunInfo;").len(),
        1
    );
}

fn version(v: &str) -> (u32, u32, u32) {
    let mut it = v.trim().split('.').map(|x| x.parse::<u32>().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

/// `rust-version` in Cargo.toml is true: no dependency in the locked graph
/// asks for a newer Rust, the language features the code uses (let
/// chains, 1.88) are covered, and the toolchain building this is not
/// older. (The standard library items the code calls are held to it by
/// clippy's `incompatible_msrv`, which reads the same field, in CI.)
#[test]
fn rust_version_is_true() {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = m["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "smefin")
        .and_then(|p| p["rust_version"].as_str())
        .map(version)
        .expect("smefin declares rust-version");
    assert!(
        ours >= (1, 88, 0),
        "let chains need 1.88, rust-version says {ours:?}"
    );
    let newer: Vec<String> = m["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            let v = version(p["rust_version"].as_str()?);
            (v > ours).then(|| format!("{} {} needs {v:?}", p["name"], p["version"]))
        })
        .collect();
    assert!(
        newer.is_empty(),
        "rust-version {ours:?} is too old for: {newer:?}"
    );
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .expect("rustc runs");
    let text = String::from_utf8_lossy(&rustc.stdout);
    let have = version(text.split_whitespace().nth(1).unwrap_or("0"));
    assert!(
        have >= ours,
        "the toolchain {have:?} is older than rust-version {ours:?}"
    );
}

/// Most lines of a source file, its unit tests left out.
const MAX_FILE_LINES: usize = 600;
/// Most lines of a function.
const MAX_FN_LINES: usize = 80;

/// Functions longer than [`MAX_FN_LINES`], as (line, name, lines); a
/// function whose head carries a `// size: why` comment is let be.
#[derive(Default)]
struct Sizes<'s> {
    text: Vec<&'s str>,
    long: Vec<(usize, String, usize)>,
    test_lines: usize,
}

impl Sizes<'_> {
    fn excused(&self, line: usize) -> bool {
        // the comment lines just above the item (`line` is 1-based)
        let mut i = line.saturating_sub(1);
        while i > 0 {
            let l = self.text[i - 1].trim_start();
            if l.starts_with("// size:") {
                return true;
            }
            if !(l.starts_with("//") || l.starts_with("#[")) {
                return false;
            }
            i -= 1;
        }
        false
    }
    fn check(&mut self, name: String, span: proc_macro2::Span, first: usize) {
        let n = span.end().line + 1 - first;
        if n > MAX_FN_LINES && !self.excused(first) {
            self.long.push((first, name, n));
        }
    }
}

impl<'ast> Visit<'ast> for Sizes<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let test = m.attrs.iter().any(|a| {
            a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
        });
        if test {
            use syn::spanned::Spanned;
            let s = m.span();
            self.test_lines += s.end().line + 1 - s.start().line;
        } else {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        use syn::spanned::Spanned;
        let first = f.sig.fn_token.span.start().line;
        self.check(f.sig.ident.to_string(), f.span(), first);
        syn::visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        use syn::spanned::Spanned;
        let first = f.sig.fn_token.span.start().line;
        self.check(f.sig.ident.to_string(), f.span(), first);
        syn::visit::visit_impl_item_fn(self, f);
    }
}

/// A breach of the size rules: what (`file` or `fn NAME`), its lines, and
/// the line that says so.
type Oversized = (String, usize, String);

/// Every breach of the size rules in one file.
fn oversized(rel: &Path, text: &str) -> Vec<Oversized> {
    let file = syn::parse_file(text).unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
    let mut s = Sizes {
        text: text.lines().collect(),
        ..Sizes::default()
    };
    s.visit_file(&file);
    let mut out = Vec::new();
    let lines = s.text.len() - s.test_lines;
    let head_excuse = s
        .text
        .iter()
        .take(12)
        .any(|l| l.trim_start().starts_with("//! size:"));
    if lines > MAX_FILE_LINES && !head_excuse {
        out.push((
            "file".into(),
            lines,
            format!(
                "{}: {lines} lines outside its tests (at most {MAX_FILE_LINES})",
                rel.display()
            ),
        ));
    }
    for (line, name, n) in s.long {
        out.push((
            format!("fn {name}"),
            n,
            format!(
                "{}:{line}: fn {name} is {n} lines (at most {MAX_FN_LINES})",
                rel.display()
            ),
        ));
    }
    out
}

#[test]
fn no_file_over_600_lines_and_no_function_over_80() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut found = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        if rel.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        found.extend(oversized(rel, &text).into_iter().map(|(_, _, line)| line));
    }
    assert!(found.is_empty(), "too large:\n{}", found.join("\n"));
}

#[test]
fn the_size_check_catches_a_long_function_and_lets_an_excused_one_be() {
    let body = "    let x = 1;\n".repeat(90);
    let long = format!("fn long() {{\n{body}}}\n");
    let found = oversized(Path::new("x.rs"), &long);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].2, "x.rs:1: fn long is 92 lines (at most 80)");
    let excused = format!("// size: a single match over a closed set\nfn long() {{\n{body}}}\n");
    assert!(oversized(Path::new("x.rs"), &excused).is_empty());
    let tests = format!(
        "fn f() {{}}\n#[cfg(test)]\nmod tests {{\n{}}}\n",
        "// t\n".repeat(700)
    );
    assert!(oversized(Path::new("x.rs"), &tests).is_empty());
}
