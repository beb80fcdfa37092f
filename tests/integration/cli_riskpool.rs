//! `smefin simulate | merge | stress | leverage` on the real binary.

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smefin"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run smefin")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn simulate_prints_a_summary_and_json() {
    let d = tempfile::tempdir().unwrap();
    // a report or part file into a directory that does not exist is refused
    // before anything runs
    for args in [
        &["simulate", "default", "--report", "no/such/dir/r.html"][..],
        &[
            "simulate",
            "default",
            "--shard",
            "0/2",
            "--out",
            "no/such/p.json",
        ][..],
        &["stress", "default", "--report", "no/such/s.html"][..],
        &[
            "leverage",
            "default",
            "--target",
            "0.01",
            "--report",
            "no/such/l.html",
        ][..],
        &["merge", "x.json", "--out", "no/such/m.json"][..],
    ] {
        let o = run(args, d.path());
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            err(&o).contains("directory no/such"),
            "{args:?}: {}",
            err(&o)
        );
        assert!(out(&o).is_empty());
    }
    let o = run(&["simulate", "default", "--scenarios", "5000"], d.path());
    assert!(o.status.success(), "{}", err(&o));
    let s = out(&o);
    assert!(s.contains("资金池耗尽概率"), "{s}");
    assert!(
        s.contains("授信规模 6亿 · 资金池 3000万（放大 20.0 倍）"),
        "{s}"
    );
    assert!(s.contains("Vasicek"), "{s}");
    // the 1:10 reading of the 2022 text, beside the default 1:20
    assert!(s.contains("另一种读法"), "{s}");
    assert!(s.contains("资金池 6000万、授信 6亿（放大 10.0 倍）"), "{s}");
    let o = run(
        &[
            "simulate",
            "default",
            "--scenarios",
            "5000",
            "--json",
            "--seed",
            "9",
        ],
        d.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in ["estimate", "std_error", "ci95_low", "ci95_high"] {
        assert!(v["exhaustion_probability"][key].is_number(), "{key}");
    }
    assert!(v["defaults"]["mean"].is_number() && v["defaults"]["variance"].is_number());
    assert!(v["compensation"]["es"].is_string());
    assert!(v["unfunded_claims"]["quantiles"].is_array());
    assert_eq!(v["seed"], 9);
}

#[test]
fn shards_merge_to_the_unsharded_run() {
    let d = tempfile::tempdir().unwrap();
    for k in 0..3 {
        let shard = format!("{k}/3");
        let part = format!("p{k}.json");
        let o = run(
            &[
                "simulate",
                "default",
                "--scenarios",
                "9000",
                "--shard",
                &shard,
                "--out",
                &part,
            ],
            d.path(),
        );
        assert!(o.status.success(), "{}", err(&o));
    }
    let merged = run(
        &["merge", "p2.json", "p0.json", "p1.json", "--json"],
        d.path(),
    );
    assert!(merged.status.success(), "{}", err(&merged));
    let whole = run(
        &[
            "simulate",
            "default",
            "--scenarios",
            "9000",
            "--method",
            "monte-carlo",
            "--json",
            "--threads",
            "1",
        ],
        d.path(),
    );
    assert_eq!(out(&merged), out(&whole));
    // a missing shard is an error naming it
    let o = run(&["merge", "p0.json", "p1.json"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("1 of 3 shards missing: 2"), "{}", err(&o));
    // a shard given twice, naming both files
    std::fs::copy(d.path().join("p1.json"), d.path().join("p1-again.json")).unwrap();
    let o = run(
        &["merge", "p0.json", "p1.json", "p1-again.json", "p2.json"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("shard 1 of 3 is given twice: p1-again.json and p1.json")
            || err(&o).contains("shard 1 of 3 is given twice: p1.json and p1-again.json"),
        "{}",
        err(&o)
    );
    // a shard of another run (another seed), naming it and what differs
    let o = run(
        &[
            "simulate",
            "default",
            "--scenarios",
            "9000",
            "--seed",
            "99",
            "--shard",
            "2/3",
            "--out",
            "other.json",
        ],
        d.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    let o = run(&["merge", "p0.json", "p1.json", "other.json"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("other.json: not the same run as p0.json: seed")
            && err(&o).contains("against 99"),
        "{}",
        err(&o)
    );
    // a directory stands for its part-*.json files; --out writes the result
    std::fs::create_dir(d.path().join("run")).unwrap();
    for k in 0..3 {
        std::fs::copy(
            d.path().join(format!("p{k}.json")),
            d.path().join(format!("run/part-{k}.json")),
        )
        .unwrap();
    }
    let o = run(
        &["merge", "run", "--json", "--out", "run/result.json"],
        d.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).is_empty());
    assert_eq!(
        std::fs::read_to_string(d.path().join("run/result.json")).unwrap(),
        out(&whole)
    );
    let o = run(
        &["simulate", "default", "--shard", "3/3", "--out", "x.json"],
        d.path(),
    );
    // a usage error, refused by the argument parser before anything runs
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("--shard"), "{}", err(&o));
}

#[test]
fn bad_specs_exit_nonzero_naming_the_field() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("bad.toml"),
        "[dependence]\nrho = 1.5\n[[portfolio.loans]]\namount = \"100万\"\npd = 0.02\n",
    )
    .unwrap();
    let o = run(&["simulate", "bad.toml"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(err(&o).lines().count(), 1);
    assert!(err(&o).contains("dependence.rho"), "{}", err(&o));
    let o = run(
        &["simulate", "default", "--scenarios", "1000000000000"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("scenarios"), "{}", err(&o));
    // CSV books, relative to the spec
    std::fs::write(
        d.path().join("loans.csv"),
        "id,amount,pd,lgd,sector,term_months\na,100万,0.02,0.6,制造业,12\nb,oops,0.02,0.6,,\n",
    )
    .unwrap();
    std::fs::write(
        d.path().join("csv.toml"),
        "[portfolio]\ncsv = \"loans.csv\"\n",
    )
    .unwrap();
    let o = run(&["simulate", "csv.toml"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("portfolio.csv:3.amount"), "{}", err(&o));
    // thread counts: 0 or more than the OS should be asked for are refused
    // (100000 used to start that many threads and hang)
    for t in ["0", "100000"] {
        let o = run(&["simulate", "default", "--threads", t], d.path());
        assert_eq!(o.status.code(), Some(2), "--threads {t}");
        assert!(
            err(&o).contains(&format!(
                "invalid value '{t}' for '--threads <THREADS>': {t} is not in 1..=1024"
            )),
            "{}",
            err(&o)
        );
    }
}

#[test]
fn stress_and_leverage() {
    let d = tempfile::tempdir().unwrap();
    let o = run(
        &[
            "stress",
            "default",
            "--pd-multiplier",
            "1,2",
            "--rho",
            "0.1,0.2",
            "--scenarios",
            "4000",
            "--json",
        ],
        d.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["cells"].as_array().unwrap().len(), 4);
    let o = run(
        &[
            "leverage",
            "default",
            "--target",
            "0.02",
            "--scenarios",
            "4000",
            "--json",
        ],
        d.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["exhaustion_probability"]["estimate"].as_f64().unwrap() <= 0.02);
    assert!(v["leverage"].as_f64().unwrap() > 20.0);
    let o = run(
        &[
            "leverage",
            "default",
            "--target",
            "0.02",
            "--solve",
            "capital",
            "--scenarios",
            "4000",
        ],
        d.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    let o = run(
        &[
            "leverage", "default", "--target", "0.02", "--solve", "nothing",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err(&o).contains("possible values: scale, capital"),
        "{}",
        err(&o)
    );
    // a target that is not a probability strictly between 0 and 1 is refused
    // (1.5 used to "solve" to a 20-million-fold leverage, NaN to 572 yuan)
    for t in ["0", "1", "1.5", "nan", "-0.1"] {
        let o = run(&["leverage", "default", &format!("--target={t}")], d.path());
        assert_eq!(o.status.code(), Some(2), "--target {t}");
        assert!(err(&o).contains("is not in (0, 1)"), "{}", err(&o));
    }
}

#[test]
fn print_default_round_trips() {
    let d = tempfile::tempdir().unwrap();
    let o = run(&["simulate", "--print-default"], d.path());
    std::fs::write(
        d.path().join("mine.toml"),
        out(&o).replace("scenarios = 100000", "scenarios = 3000"),
    )
    .unwrap();
    let a = run(&["simulate", "mine.toml", "--json"], d.path());
    let b = run(
        &["simulate", "default", "--scenarios", "3000", "--json"],
        d.path(),
    );
    assert!(a.status.success());
    assert_eq!(out(&a), out(&b));
}

#[test]
fn stress_grid_shards_merge_to_the_whole_grid() {
    let d = tempfile::tempdir().unwrap();
    let grid = [
        "stress",
        "default",
        "--scenarios",
        "3000",
        "--pd-multiplier",
        "1,2,3",
        "--rho",
        "0.1,0.3",
        "--json",
    ];
    // 6 cells over 4 shards: 1, 2, 1, 2 cells
    for k in 0..4 {
        let shard = format!("{k}/4");
        let part = format!("grid/part-{k}.json");
        std::fs::create_dir_all(d.path().join("grid")).unwrap();
        let mut args = grid.to_vec();
        args.extend(["--shard", &shard, "--out", &part]);
        let o = run(&args, d.path());
        assert!(o.status.success(), "{}", err(&o));
        assert!(out(&o).contains("cells"), "{}", out(&o));
    }
    let merged = run(
        &["merge", "grid", "--json", "--report", "grid.html"],
        d.path(),
    );
    assert!(merged.status.success(), "{}", err(&merged));
    let html = std::fs::read_to_string(d.path().join("grid.html")).unwrap();
    assert_eq!(html.matches("<rect class=\"series cell").count(), 6);
    // merge --target outlines the safe cells as stress --target does
    let targeted = run(
        &[
            "merge",
            "grid",
            "--report",
            "grid-t.html",
            "--target",
            "0.5",
        ],
        d.path(),
    );
    assert!(targeted.status.success(), "{}", err(&targeted));
    let html = std::fs::read_to_string(d.path().join("grid-t.html")).unwrap();
    assert!(html.matches("series cell safe").count() > 0);
    assert!(html.contains("安全组合"));
    let whole = run(&grid, d.path());
    assert!(whole.status.success(), "{}", err(&whole));
    assert_eq!(out(&merged), out(&whole));
    let v: serde_json::Value = serde_json::from_str(&out(&merged)).unwrap();
    assert_eq!(v["cells"].as_array().unwrap().len(), 6);
    // the table, too, and a missing shard named
    let table = run(&["merge", "grid"], d.path());
    assert!(
        out(&table).contains("压力测试：6 个组合"),
        "{}",
        out(&table)
    );
    std::fs::remove_file(d.path().join("grid/part-1.json")).unwrap();
    let o = run(&["merge", "grid"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("1 of 4 shards missing: 1"), "{}", err(&o));
    // a simulation's part among a grid's is refused, named
    let o = run(
        &[
            "simulate",
            "default",
            "--scenarios",
            "3000",
            "--shard",
            "1/4",
            "--out",
            "grid/part-1.json",
        ],
        d.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    let o = run(&["merge", "grid"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("part-1.json") && err(&o).contains("smefin-stress-part/2"),
        "{}",
        err(&o)
    );
}

/// `--method`: the analytic engine alone (table and JSON), both with the
/// certificate, Monte Carlo alone as before; refused, saying why, where it
/// does not apply.
#[test]
fn simulate_method_analytic_both_and_monte_carlo() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("pool.toml"),
        "seed = 3\nscenarios = 20000\n[pool]\ncapital = \"100万\"\ncompensation_share = 0.5\n\
         [[portfolio.segments]]\ncount = 100\namount = \"20万\"\npd = 0.05\nlgd = 0.5\n",
    )
    .unwrap();
    let o = run(&["simulate", "pool.toml", "--method", "analytic"], d.path());
    assert!(o.status.success(), "{}", err(&o));
    let t = out(&o);
    assert!(t.contains("解析法") && t.contains("无离散化误差"), "{t}");
    assert!(!t.contains("核验") && !t.contains("次模拟"), "{t}");
    let o = run(
        &["simulate", "pool.toml", "--method", "analytic", "--json"],
        d.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["method"], "analytic");
    assert!(v.get("scenarios").is_none());
    // mean loss 100 × 5% × 20万 × 0.5, exactly
    assert_eq!(v["analytic"]["loss"]["mean"]["estimate"], "500000.00");
    let p = v["analytic"]["exhaustion_probability"]["estimate"]
        .as_f64()
        .unwrap();
    // the default (both): Monte Carlo fields as before, plus the analytic
    // figures and a certificate that agrees
    let o = run(&["simulate", "pool.toml", "--json"], d.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["method"], "both");
    assert_eq!(v["scenarios"], 20000);
    assert_eq!(v["analytic"]["exhaustion_probability"]["estimate"], p);
    assert_eq!(v["certificate"]["agree"], true, "{}", v["certificate"]);
    let o = run(&["simulate", "pool.toml"], d.path());
    assert!(out(&o).contains("两种方法一致"), "{}", out(&o));
    let o = run(
        &["simulate", "pool.toml", "--method", "monte-carlo", "--json"],
        d.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["method"], "monte-carlo");
    assert!(v.get("analytic").is_none() && v.get("certificate").is_none());
    // several periods: Monte Carlo by default, refused when asked
    std::fs::write(
        d.path().join("q.toml"),
        "scenarios = 2000\nperiods = 4\nperiods_per_year = 4\n\
         [[portfolio.segments]]\ncount = 100\namount = \"20万\"\npd = 0.05\n",
    )
    .unwrap();
    let o = run(&["simulate", "q.toml", "--json"], d.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["method"], "monte-carlo");
    let o = run(&["simulate", "q.toml", "--method", "both"], d.path());
    assert!(!o.status.success());
    assert!(err(&o).contains("4 periods"), "{}", err(&o));
    assert_eq!(err(&o).trim().lines().count(), 1, "{}", err(&o));
    // bad options name themselves
    for (flag, v) in [
        ("--tolerance", "0"),
        ("--tolerance", "nan"),
        ("--lattice-points", "8"),
    ] {
        let o = run(&["simulate", "pool.toml", flag, v], d.path());
        assert!(!o.status.success() && err(&o).contains(flag), "{}", err(&o));
    }
    // a report of the analytic run
    let o = run(
        &[
            "simulate",
            "pool.toml",
            "--method",
            "analytic",
            "--report",
            "a.html",
        ],
        d.path(),
    );
    assert!(o.status.success(), "{}", err(&o));
    let html = std::fs::read_to_string(d.path().join("a.html")).unwrap();
    assert!(html.contains("风险补偿资金池解析报告") && !html.contains("<script"));
}
