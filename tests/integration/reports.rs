//! HTML reports: their structure (a snapshot of the charts' SVG elements,
//! not of pixels), that they are self-contained, and that Chromium renders
//! them, prints them to PDF, and logs no error.

use std::path::{Path, PathBuf};
use std::process::Command;

use smefin::report::RunInfo;
use smefin::riskpool::{self, Control, Limits, Model, Spec};

/// A fixed run: the built-in pool over 12 quarters with a breaker and a
/// recovery lag, so that every chart of the simulation report is drawn.
fn quarterly_spec() -> Spec {
    let mut spec = Spec::from_toml(riskpool::spec::DEFAULT_SPEC_TOML).unwrap();
    spec.scenarios = 4_000;
    spec.periods = 12;
    spec.periods_per_year = 4;
    spec.factor_ar = 0.6;
    spec.pool.recovery_lag = 2;
    spec.pool.breaker = Some(riskpool::spec::BreakerSpec {
        default_rate: Some(0.05),
        compensation_ratio: None,
    });
    spec.pool.top_up = Some(riskpool::spec::TopUpSpec {
        below: "2000万".parse().unwrap(),
        refill_to: "3000万".parse().unwrap(),
        max_per_year: "1000万".parse().unwrap(),
    });
    spec
}

pub(crate) fn simulation_report(spec: &Spec) -> String {
    let m = Model::compile(spec, &Limits::default()).unwrap();
    let (_, summary) = riskpool::monte_carlo(&m, 2, &Control::default()).unwrap();
    let info = RunInfo {
        spec_text: toml::to_string_pretty(spec).unwrap(),
        digest: riskpool::inputs_digest(spec, None),
        version: riskpool::VERSION.into(),
        how: "test".into(),
    };
    smefin::report::simulation::simulation(&summary, spec, &info)
}

/// The structure of a report: per chart, its kind and how many of each
/// element it holds; then the page's sections.
fn structure(html: &str) -> String {
    let mut out = String::new();
    for fig in html.split("<figure class=\"chart ").skip(1) {
        let kind = fig.split('"').next().unwrap();
        let svg = &fig[..fig.find("</svg>").unwrap()];
        let count = |pat: &str| svg.matches(pat).count();
        out.push_str(&format!(
            "chart {kind}: series paths {}, rects {}, circles {}, ticks {}, markers {}\n",
            count("<path class=\"series"),
            count("<rect class=\"series"),
            count("<circle class=\"series"),
            count("class=\"tick\""),
            count("<g class=\"marker"),
        ));
    }
    for h2 in html.split("<h2>").skip(1) {
        out.push_str(&format!("section {}\n", h2.split("</h2>").next().unwrap()));
    }
    out
}

fn self_contained(html: &str) {
    for bad in [
        "<script", "http:", "https:", "src=", "href=", "@import", "url(",
    ] {
        assert!(
            !html.contains(bad),
            "the report refers outside itself: {bad}"
        );
    }
    assert!(html.contains("<html lang=\"zh-CN\">"));
    assert!(html.contains("size: A4"));
}

/// Compares with the snapshot in tests/data/snapshots/, or writes it when
/// SMEFIN_UPDATE_SNAPSHOTS is set.
fn snapshot(name: &str, got: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/snapshots")
        .join(name);
    if std::env::var_os("SMEFIN_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (SMEFIN_UPDATE_SNAPSHOTS=1 writes it)",
            path.display()
        )
    });
    assert!(
        want == got,
        "{name} changed:\n--- snapshot\n{want}\n--- now\n{got}"
    );
}

#[test]
fn simulation_report_structure() {
    let html = simulation_report(&quarterly_spec());
    self_contained(&html);
    snapshot("simulation_report.txt", &structure(&html));
    // the figures are the run's own
    assert!(html.contains("风险补偿资金池模拟报告"));
    assert!(html.contains("资金池 3000万"));
    // one period: no fan, no by-period charts; the histogram and its markers
    let mut one = Spec::from_toml(riskpool::spec::DEFAULT_SPEC_TOML).unwrap();
    one.scenarios = 4_000;
    let html = simulation_report(&one);
    self_contained(&html);
    snapshot("simulation_report_one_period.txt", &structure(&html));
}

/// Chromium, where installed (Debian's `chromium`); required when
/// SMEFIN_REQUIRE_CHROMIUM is set (CI).
pub(crate) fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Some(p) = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        }) {
            return Some(p);
        }
    }
    assert!(
        std::env::var_os("SMEFIN_REQUIRE_CHROMIUM").is_none(),
        "SMEFIN_REQUIRE_CHROMIUM is set but no chromium is installed"
    );
    eprintln!("SKIPPED: no chromium (apt-get install chromium fonts-noto-cjk)");
    None
}

/// Renders `html` headless: a screenshot, a PDF and the DOM as parsed.
/// Every host resolves to nothing, so a report that fetched anything would
/// log the failure.
pub(crate) fn render(chrome: &Path, html: &Path, dir: &Path) -> (Vec<u8>, Vec<u8>, String) {
    let url = format!("file://{}", html.display());
    let base = |c: &mut Command, profile: &str| {
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", dir.join(profile).display()));
    };
    let png = dir.join("page.png");
    let pdf = dir.join("page.pdf");
    let mut shot = Command::new(chrome);
    base(&mut shot, "p1");
    let o = shot
        .arg("--window-size=900,1800")
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "chromium --screenshot failed: {log}");
    let mut print = Command::new(chrome);
    base(&mut print, "p2");
    let o2 = print
        .arg("--no-pdf-header-footer")
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(o2.status.success(), "chromium --print-to-pdf failed");
    let mut dom = Command::new(chrome);
    base(&mut dom, "p3");
    let o3 = dom.arg("--dump-dom").arg(&url).output().unwrap();
    assert!(o3.status.success(), "chromium --dump-dom failed");
    for l in [
        &log,
        &String::from_utf8_lossy(&o2.stderr).to_string(),
        &String::from_utf8_lossy(&o3.stderr).to_string(),
    ] {
        for bad in ["CONSOLE", "Uncaught", "net::ERR", "Failed to load"] {
            assert!(!l.contains(bad), "chromium logged `{bad}`:\n{l}");
        }
    }
    (
        std::fs::read(&png).unwrap(),
        std::fs::read(&pdf).unwrap(),
        String::from_utf8(o3.stdout).unwrap(),
    )
}

/// Every `<svg>` of the page is in the DOM Chromium parsed, and none is
/// empty.
pub(crate) fn check_rendered(html: &str, png: &[u8], pdf: &[u8], dom: &str) {
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "screenshot of {} bytes",
        png.len()
    );
    assert!(
        pdf.starts_with(b"%PDF") && pdf.len() > 10_000,
        "PDF of {} bytes",
        pdf.len()
    );
    let svgs = html.matches("<svg").count();
    assert!(svgs > 0);
    assert_eq!(
        dom.matches("<svg").count(),
        svgs,
        "an SVG was dropped by the parser"
    );
    for svg in dom.split("<svg").skip(1) {
        let body = &svg[..svg.find("</svg>").unwrap()];
        assert!(
            body.contains("<path") || body.contains("<rect"),
            "an empty chart: {}",
            &body[..body.len().min(200)]
        );
    }
}

#[test]
fn simulation_report_renders_in_chromium() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let html = simulation_report(&quarterly_spec());
    let file = dir.path().join("report.html");
    std::fs::write(&file, &html).unwrap();
    let (png, pdf, dom) = render(&chrome, &file, dir.path());
    check_rendered(&html, &png, &pdf, &dom);
}

fn grid_reports() -> (String, String) {
    use smefin::riskpool::grid::{self, Grid, Solve};
    let mut spec = Spec::from_toml(riskpool::spec::DEFAULT_SPEC_TOML).unwrap();
    spec.scenarios = 3_000;
    let g = Grid {
        pd_multipliers: vec![1.0, 2.0, 3.0],
        rhos: vec![0.1, 0.2],
        shares: vec![0.5, 0.8],
    };
    let result = grid::run(&spec, None, &g, &Limits::default(), 2, &Control::default()).unwrap();
    let info = RunInfo::of(&spec, None, "test".into());
    let stress = smefin::report::grid::stress(&result, Some(0.01), &info);
    let m = Model::compile(&spec, &Limits::default()).unwrap();
    let r = grid::solve_leverage(&m, Solve::Scale, 0.01, 2, &Control::default()).unwrap();
    assert_eq!(r.path.len() as u32, r.steps);
    let lev = smefin::report::grid::leverage(&r, &spec, &info);
    (stress, lev)
}

#[test]
fn stress_and_leverage_report_structure() {
    let (stress, lev) = grid_reports();
    for html in [&stress, &lev] {
        self_contained(html);
    }
    // one heatmap per compensation share, 6 cells each, and the scale
    assert_eq!(stress.matches("<figure class=\"chart heatmap\"").count(), 2);
    assert_eq!(stress.matches("<rect class=\"series cell").count(), 12);
    assert!(
        stress.contains("class=\"safe-edge\""),
        "no safe region outlined"
    );
    snapshot("stress_report.txt", &structure(&stress));
    snapshot("leverage_report.txt", &structure(&lev));
    assert!(lev.contains("放大倍数测算报告") && lev.contains("class=\"solution\""));
}

#[test]
fn stress_and_leverage_reports_render_in_chromium() {
    let Some(chrome) = chromium() else { return };
    let (stress, lev) = grid_reports();
    for (name, html) in [("stress", stress), ("leverage", lev)] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(format!("{name}.html"));
        std::fs::write(&file, &html).unwrap();
        let (png, pdf, dom) = render(&chrome, &file, dir.path());
        check_rendered(&html, &png, &pdf, &dom);
    }
}

/// The registry report of `tests/data/firms.jsonl` through the CLI, as a
/// bureau runs it.
fn registry_report(dir: &Path) -> String {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/firms.jsonl");
    let o = Command::new(env!("CARGO_BIN_EXE_smefin"))
        .args(["match", "--input", data, "--output"])
        .arg(dir.join("out.jsonl"))
        .args(["--as-of", "2024-06-01", "--report"])
        .arg(dir.join("registry.html"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(dir.join("registry.html")).unwrap()
}

#[test]
fn registry_report_structure() {
    let dir = tempfile::tempdir().unwrap();
    let html = registry_report(dir.path());
    self_contained(&html);
    snapshot("registry_report.txt", &structure(&html));
    // 200 firms; per product the three counts add up to them
    assert!(html.contains("200 家企业"));
    let rows = html.split("<h2>各产品明细</h2>").nth(1).unwrap();
    let row = rows.split("<tr><td>工信通</td>").nth(1).unwrap();
    let n: Vec<u64> = row
        .split("</tr>")
        .next()
        .unwrap()
        .split("<td>")
        .skip(1)
        .map(|c| c.trim_end_matches("</td>").parse().unwrap())
        .collect();
    assert_eq!(n.iter().sum::<u64>(), 200, "{n:?}");
    // the one-step table names a simple action, by its Chinese name
    let one = html.split("只差一步的企业").nth(1).unwrap();
    let one = one.split("</table>").next().unwrap();
    assert!(one.contains("登记知识产权"), "{one}");
    for never in ["STAY_BELOW", "申报资质认定", "补充信息", "从业人员须低于"] {
        assert!(!one.contains(never), "{never} in the one-step table");
    }
}

#[test]
fn registry_report_renders_in_chromium() {
    let Some(chrome) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let html = registry_report(dir.path());
    let (png, pdf, dom) = render(&chrome, &dir.path().join("registry.html"), dir.path());
    check_rendered(&html, &png, &pdf, &dom);
}

/// A stress cell at ρ `rho` whose pool ran dry in `hits` of 10,000
/// scenarios.
fn cell(rho: f64, hits: u64) -> smefin::riskpool::grid::Cell {
    smefin::riskpool::grid::Cell {
        pd_multiplier: 1.0,
        rho: Some(rho),
        compensation_share: 0.5,
        lgd_shift: 0.0,
        exhaustion_probability: smefin::riskpool::stats::Probability::from_count(hits, 10_000),
    }
}

/// A report's run line, for reports built by hand.
fn test_info() -> RunInfo {
    RunInfo {
        spec_text: String::new(),
        digest: String::new(),
        version: "0".into(),
        how: "test".into(),
    }
}

/// A stress cell is outlined safe only when its whole 95% interval is
/// within the target: an estimate of exactly the target, or below it with
/// an interval reaching past it, is not safe.
#[test]
fn stress_cells_are_safe_only_when_their_interval_is() {
    use smefin::riskpool::grid::GridResult;

    // 1%: 0.2% (interval well below), 1.0% exactly, 0.9% (interval past 1%)
    let g = GridResult {
        scenarios: 10_000,
        cells: vec![cell(0.1, 20), cell(0.2, 100), cell(0.3, 90)],
    };
    assert!(g.cells[2].exhaustion_probability.ci95_high > 0.01);
    let info = test_info();
    let html = smefin::report::grid::stress(&g, Some(0.01), &info);
    assert_eq!(
        html.matches("series cell safe").count(),
        1,
        "only the 0.2% cell"
    );
    assert!(html.contains("<b>1 / 3</b>"));
}

/// One colour scale for every heatmap: a probability has the same shade
/// whatever else the grid holds, so two reports compare by eye.
#[test]
fn heatmaps_share_one_colour_scale() {
    use smefin::riskpool::grid::GridResult;

    let info = test_info();
    let fill_of_first = |g: &GridResult| {
        let html = smefin::report::grid::stress(g, None, &info);
        let cell = html.split("series cell").nth(1).unwrap();
        cell.split("fill=\"").nth(1).unwrap()[..7].to_string()
    };
    let mild = GridResult {
        scenarios: 10_000,
        cells: vec![cell(0.1, 20), cell(0.2, 100)],
    };
    let harsh = GridResult {
        scenarios: 10_000,
        cells: vec![cell(0.1, 20), cell(0.2, 5_000)],
    };
    assert_eq!(fill_of_first(&mild), fill_of_first(&harsh));
    // and darker for a larger probability
    let darker = GridResult {
        scenarios: 10_000,
        cells: vec![cell(0.1, 2_000)],
    };
    assert!(fill_of_first(&darker) < fill_of_first(&mild));
}
