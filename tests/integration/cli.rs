//! The real `smefin` binary, run in a temporary directory.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub(crate) fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_smefin"))
}

pub(crate) fn run(args: &[&str], dir: &Path) -> Output {
    bin()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run smefin")
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const FIRM: &str = r#"{
  "name": "南昌某新材料科技有限公司", "credit_code": "91350100M000100Y43",
  "region_code": "360102", "industry_code": "C3562", "employees": 24,
  "annual_revenue": "1800万", "total_assets": "2600万", "established": "2016-03-18",
  "certifications": ["zjtx_provincial", "tech_sme"], "in_industrial_park": true,
  "tax_credit_grade": "A", "has_bank_loans": true, "new_eligible_hires": 3,
  "wage_or_social_insurance_arrears": false, "has_registered_ip": true, "has_receivables": false,
  "request": {"amount": "300万", "term_months": 12, "purpose": "working_capital"}
}"#;

pub(crate) fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn match_prints_a_readable_table() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "firm.json", FIRM);
    let o = run(&["match", "firm.json", "--as-of", "2024-06-01"], d.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("划型：工业 · 小型"), "{s}");
    assert!(s.contains("1年期LPR 3.45%"), "{s}");
    // first eligible row is 工信通 at 103500.00
    let row = s
        .lines()
        .find(|l| l.trim_start().starts_with("1  "))
        .unwrap();
    assert!(row.contains("工信通") && row.contains("103500.00"), "{row}");
    assert!(
        s.contains("新招用重点群体人数占比 12.5%，低于 15% 的要求"),
        "{s}"
    );
    assert!(s.contains("再招用 1 名重点群体人员"), "{s}");
}

#[test]
fn match_json_and_stdin() {
    let d = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args([
            "match",
            "-",
            "--json",
            "--as-of",
            "2024-06-01",
            "--product",
            "kedaitong",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .current_dir(d.path())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(FIRM.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["eligible"][0]["product_id"], "kedaitong");
    assert_eq!(v["eligible"][0]["offer"]["annual_cost"], "118500.00");
    assert_eq!(v["classification"]["size_class"], "small");
    assert_eq!(v["lpr_1y"], "0.0345");
}

#[test]
fn bad_profile_exits_nonzero_with_one_line() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "bad.json",
        r#"{"employees": -4, "annual_revenue": "many"}"#,
    );
    let o = run(&["match", "bad.json"], d.path());
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("employees: must not be negative") && e.contains("annual_revenue"),
        "{e}"
    );
    let o = run(&["match", "missing.json"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("smefin: missing.json:"),
        "{}",
        stderr(&o)
    );
    let o = run(&["match", "bad.json", "--as-of", "yesterday"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--as-of"));
    // an unknown product is refused before any work, registry or not
    for args in [
        vec!["match", "bad.json", "--product", "no_such"],
        vec![
            "match",
            "--input",
            "missing.jsonl",
            "--output",
            "o.jsonl",
            "--product",
            "no_such",
        ],
    ] {
        let o = run(&args, d.path());
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert_eq!(
            stderr(&o).trim(),
            "smefin: --product: unknown product `no_such`"
        );
    }
    // usage error
    let o = run(&["match"], d.path());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn batch_match_writes_every_line_and_counts_per_product() {
    let d = tempfile::tempdir().unwrap();
    let compact: String =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(FIRM).unwrap()).unwrap();
    let mut lines = Vec::new();
    for i in 0..50 {
        if i == 10 {
            lines.push(r#"{"employees": "many"}"#.to_string());
        } else if i == 20 {
            lines.push("not json".to_string());
        } else if i == 30 {
            lines.push(String::new()); // blank lines are skipped
        } else {
            lines.push(compact.clone());
        }
    }
    let mut bytes = (lines.join("\n") + "\n").into_bytes();
    // a last line that is not UTF-8, with a CRLF ending
    bytes.extend_from_slice(b"{\"name\": \"\xff\xfe\"}\r\n");
    std::fs::write(d.path().join("firms.jsonl"), bytes).unwrap();
    let o = run(
        &[
            "match",
            "--input",
            "firms.jsonl",
            "--output",
            "out.jsonl",
            "--as-of",
            "2024-06-01",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("3 of 50 records were invalid"),
        "{}",
        stderr(&o)
    );
    let s = stdout(&o);
    assert!(s.contains("已匹配 47 家企业"), "{s}");
    let gxt = s.lines().find(|l| l.starts_with("gongxintong")).unwrap();
    assert!(gxt.split_whitespace().any(|w| w == "47"), "{gxt}");
    let out = std::fs::read_to_string(d.path().join("out.jsonl")).unwrap();
    let recs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 50);
    assert_eq!(recs[49]["line"], 51);
    assert_eq!(recs[49]["problems"][0]["field"], "(line)");
    assert_eq!(recs[10]["line"], 11);
    // a value of the wrong type is named by its field; a line that is not
    // JSON at all, as (json)
    assert_eq!(recs[10]["problems"][0]["field"], "employees");
    assert_eq!(recs[20]["line"], 21);
    assert_eq!(recs[20]["problems"][0]["field"], "(json)");
    assert_eq!(recs[0]["eligible"][0]["product_id"], "gongxintong");
    assert_eq!(recs[0]["eligible"][0]["annual_cost"], "103500.00");
    assert_eq!(recs[0]["size_class"], "small");
    // line numbers skip the blank line 31
    assert_eq!(recs[30]["line"], 32);

    // --full writes whole reports, one thread gives the same records
    let o = run(
        &[
            "match",
            "--input",
            "firms.jsonl",
            "--output",
            "full.jsonl",
            "--as-of",
            "2024-06-01",
            "--full",
            "--threads",
            "1",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(3));
    let full = std::fs::read_to_string(d.path().join("full.jsonl")).unwrap();
    let recs: Vec<serde_json::Value> = full
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 50);
    assert_eq!(
        recs[0]["result"]["eligible"][0]["product_id"],
        "gongxintong"
    );
    assert!(recs[0]["result"]["ineligible"][0]["criteria"].is_array());
}

#[test]
fn batch_output_does_not_depend_on_thread_count() {
    let d = tempfile::tempdir().unwrap();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/firms.jsonl");
    let mut outs = Vec::new();
    for t in ["1", "2", "5"] {
        let out = format!("out{t}.jsonl");
        let o = run(
            &[
                "match",
                "--input",
                data,
                "--output",
                &out,
                "--as-of",
                "2025-06-01",
                "--threads",
                t,
            ],
            d.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let summary: String = stdout(&o).lines().skip(1).collect::<Vec<_>>().join("\n");
        outs.push((
            std::fs::read_to_string(d.path().join(&out)).unwrap(),
            summary,
        ));
    }
    assert!(outs[0] == outs[1], "1 and 2 threads differ");
    assert!(outs[0] == outs[2], "1 and 5 threads differ");
    assert_eq!(outs[0].0.lines().count(), 200);
}

#[test]
fn classify_and_catalog_commands() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "firm.json", FIRM);
    let o = run(&["classify", "firm.json"], d.path());
    assert!(o.status.success());
    assert!(stdout(&o).contains("划型：工业 · 小型"));
    assert!(stdout(&o).contains("校验通过"));
    let o = run(&["classify", "firm.json", "--json"], d.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["classification"]["size_class"], "small");

    let o = run(&["catalog", "list"], d.path());
    assert!(o.status.success());
    assert!(stdout(&o).contains("财园信贷通"));
    let o = run(
        &["catalog", "list", "--json", "--as-of", "2026-01-01"],
        d.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|p| p["regions"] != serde_json::json!(["3601"])),
        "the Nanchang awards end 2025-09-01"
    );
    let o = run(
        &["catalog", "show", "chuangye_danbao_xiaowei_jiangxi"],
        d.path(),
    );
    let s = stdout(&o);
    assert!(
        s.contains("仅前300万贴息") && s.contains("不确定参数"),
        "{s}"
    );
    let o = run(&["catalog", "show", "nope"], d.path());
    assert_eq!(o.status.code(), Some(1));

    // validate: the built-in catalogue round-trips; a broken one names the product and path
    let o = run(&["catalog", "validate", "--print-builtin"], d.path());
    write(d.path(), "cat.toml", &stdout(&o));
    let o = run(&["catalog", "validate", "cat.toml"], d.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("ok — 36 products"), "{}", stdout(&o));
    let broken = stdout(&run(&["catalog", "validate", "--print-builtin"], d.path()))
        .replace("ratio = \"0.15\"", "ratio = \"1.15\"");
    write(d.path(), "broken.toml", &broken);
    let o = run(&["catalog", "validate", "broken.toml"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("product `chuangye_danbao_xiaowei`: rules[1].ratio"),
        "{}",
        stderr(&o)
    );
    // and the matcher refuses to run on it
    let o = run(
        &["match", "firm.json", "--catalog", "broken.toml"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
}

/// The server's `smefin listening` line, read from its log (within its
/// first 20 lines).
fn listening_line(err: &mut impl BufRead) -> String {
    let mut line = String::new();
    for _ in 0..20 {
        line.clear();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.contains("smefin listening") {
            return line;
        }
    }
    panic!("no listening line; last: {line}");
}

/// The address a log line names (`addr=127.0.0.1:port`).
fn addr_of(line: &str) -> String {
    line.split("addr=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no addr in {line}"))
        .to_string()
}

#[test]
fn serve_starts_answers_and_stops_on_sigterm() {
    let d = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .current_dir(d.path())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let addr = addr_of(&listening_line(&mut err));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use smefin::server::pb;
        let mut c =
            pb::matching_service_client::MatchingServiceClient::connect(format!("http://{addr}"))
                .await
                .unwrap();
        let r = c
            .get_product(pb::GetProductRequest {
                product_id: "gongxintong".into(),
            })
            .await
            .unwrap();
        assert_eq!(r.into_inner().product.unwrap().name, "工信通");
    });
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(
        rest.contains("received SIGTERM") && rest.contains("stopped"),
        "{rest}"
    );
}

#[test]
fn serve_rejects_bad_config() {
    let d = tempfile::tempdir().unwrap();
    let o = bin()
        .args(["serve"])
        .env("SMEFIN__SERVER__LISTEN", "nowhere")
        .current_dir(d.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("server.listen"), "{}", stderr(&o));
    // Values of the right type but out of range are refused too, before
    // anything starts, naming the key and where the value came from.
    for (var, value, says) in [
        (
            "SMEFIN__RISKPOOL__MAX_CONCURRENT",
            "0",
            "config key `riskpool.max_concurrent` (environment): 0 is not in 1..=1024",
        ),
        (
            "SMEFIN__RISKPOOL__THREADS",
            "100000",
            "config key `riskpool.threads` (environment): 100000 is not in 0..=1024 (0: every core but one)",
        ),
        (
            "SMEFIN__SERVER__BATCH_BUFFER",
            "0",
            "config key `server.batch_buffer` (environment): 0 is not in 1..=1048576",
        ),
    ] {
        let o = bin()
            .args(["serve"])
            .env(var, value)
            .current_dir(d.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{var}");
        assert_eq!(stderr(&o).trim(), format!("smefin: {says}"));
    }
}

#[test]
fn incentives_compute_offline() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "balances.csv",
        "bank_id,bank_name,institution_type,period,balance\n\
         JXB,江西银行,城市商业银行,2023Q1,1200000000.00\n\
         JXB,江西银行,城市商业银行,2023Q2,1350000000.00\n\
         NCRCB,南昌农商银行,农村商业银行,2023Q1,800000000.00\n\
         NCRCB,南昌农商银行,农村商业银行,2023Q2,812345678.91\n\
         ICBC,工商银行江西省分行,国有大型商业银行,2023Q1,5000000000.00\n\
         ICBC,工商银行江西省分行,国有大型商业银行,2023Q2,5600000000.00\n",
    );
    let o = run(
        &[
            "incentives",
            "compute",
            "--reports",
            "balances.csv",
            "--period",
            "2023Q2",
        ],
        d.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    assert!(s.contains("合计激励：3246913.58"), "{s}");
    assert!(s.contains("不属于地方法人金融机构"), "{s}");
    let o = run(
        &[
            "incentives",
            "compute",
            "--reports",
            "balances.csv",
            "--period",
            "2023Q2",
            "--budget",
            "300万",
            "--json",
        ],
        d.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["total"], "3000000.00");
    assert_eq!(v["scaled"], true);
    // loan-level path
    write(
        d.path(),
        "banks.csv",
        "bank_id,bank_name,institution_type\nVB,靖安村镇银行,村镇银行\n",
    );
    write(
        d.path(),
        "loans.csv",
        "bank_id,period,loan_id,borrower_id,borrower_type,purpose,credit_line,balance\n\
         VB,2023Q1,1,a,小微企业,经营性,500万,100万\n\
         VB,2023Q2,1,a,小微企业,经营性,500万,150万\n\
         VB,2023Q2,2,b,个体工商户,消费,20万,10万\n\
         VB,2023Q2,3,c,大中型企业,经营性,5000万,3000万\n",
    );
    let o = run(
        &[
            "incentives",
            "compute",
            "--banks",
            "banks.csv",
            "--loans",
            "loans.csv",
            "--period",
            "2023Q2",
            "--json",
        ],
        d.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["lines"][0]["increment"], "500000.00");
    assert_eq!(v["lines"][0]["incentive"], "10000.00");
    assert_eq!(v["lines"][0]["excluded"].as_array().unwrap().len(), 2);
    // a missing quarter: exit 3, the note names it
    let o = run(
        &[
            "incentives",
            "compute",
            "--reports",
            "balances.csv",
            "--period",
            "2023Q3",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(3));
    assert!(stdout(&o).contains("缺少 2023Q3"), "{}", stdout(&o));
    // bad CSV: exit 1 naming file, line and column
    write(
        d.path(),
        "bad.csv",
        "bank_id,bank_name,institution_type,period,balance\nA,甲,火星银行,2023Q2,x\nJ X,乙,城市商业银行,2023Q2,1\n",
    );
    let o = run(
        &[
            "incentives",
            "compute",
            "--reports",
            "bad.csv",
            "--period",
            "2023Q2",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("bad.csv:2.institution_type")
            && stderr(&o).contains("bad.csv:2.balance")
            && stderr(&o).contains("bad.csv:3.bank_id: `J X` is not a bank id"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn token_new_and_hash() {
    use std::io::Write;
    let d = tempfile::tempdir().unwrap();
    let o = run(&["token", "new", "--principal", "bank:JXB"], d.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let token = out
        .split_whitespace()
        .find(|w| w.starts_with("smf_"))
        .expect("a token")
        .to_string();
    assert_eq!(token.len(), 4 + 64);
    let entry = &out[out.find("[[token]]").expect("an entry")..];
    // the entry is a token file the server accepts, for that principal
    std::fs::write(d.path().join("tokens.toml"), entry).unwrap();
    smefin::server::auth::Tokens::load(&d.path().join("tokens.toml")).unwrap();
    assert!(entry.contains("principal = \"bank:JXB\""), "{entry}");
    // `token hash` of the token gives the entry's hash
    let mut child = bin()
        .args(["token", "hash"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{token}").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let hash = stdout(&o).trim().to_string();
    assert!(
        entry.contains(&format!("sha256 = \"{hash}\"")),
        "{entry} / {hash}"
    );
    // refusals: a principal no bank could have; no token on stdin
    let o = run(&["token", "new", "--principal", "bank:J X"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("`bank:J X` is not bureau, analyst or bank:<id>"));
    let o = bin()
        .args(["token", "hash"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim(),
        "smefin: stdin: no token (give the token on stdin)"
    );
}

/// A bureau's campaign as it runs it: a registry with one firm already
/// borrowing under 工信通 and one with a contact, 工信通's leads assigned to
/// two banks in turn, the lead list and each bank's own file opened as a
/// spreadsheet reader would; the leads are the registry's eligible firms
/// less the one that already holds it.
#[test]
fn a_campaign_writes_each_bank_its_leads_as_a_spreadsheet() {
    use calamine::{Reader, Xlsx, open_workbook_from_rs};
    let dir = tempfile::tempdir().unwrap();
    let registry = include_str!("../data/firms.jsonl");
    let mut lines: Vec<serde_json::Value> = registry
        .lines()
        .take(60)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // which firms are eligible for 工信通: from `match --input`
    std::fs::write(
        dir.path().join("reg.jsonl"),
        lines
            .iter()
            .map(|v| v.to_string() + "\n")
            .collect::<String>(),
    )
    .unwrap();
    let o = run(
        &[
            "match",
            "--input",
            "reg.jsonl",
            "--output",
            "m.jsonl",
            "--as-of",
            "2024-06-01",
        ],
        dir.path(),
    );
    assert!(
        o.status.success() || o.status.code() == Some(3),
        "{}",
        stderr(&o)
    );
    let compact = std::fs::read_to_string(dir.path().join("m.jsonl")).unwrap();
    let eligible: Vec<usize> = compact
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["eligible"]
                .as_array()
                .is_some_and(|e| e.iter().any(|p| p["product_id"] == "gongxintong"))
        })
        .map(|(i, _)| i)
        .collect();
    assert!(eligible.len() >= 6, "{} eligible", eligible.len());
    // the first already borrows under it; the second gives a contact
    lines[eligible[0]]["held_products"] =
        serde_json::json!([{"product_id": "gongxintong", "status": "held", "since": "2023-09-01"}]);
    lines[eligible[1]]["contact"] =
        serde_json::json!({"person": "王经理", "phone": "0791-8888 6666"});
    std::fs::write(
        dir.path().join("reg.jsonl"),
        lines
            .iter()
            .map(|v| v.to_string() + "\n")
            .collect::<String>(),
    )
    .unwrap();
    let o = run(
        &[
            "campaign",
            "--input",
            "reg.jsonl",
            "--out",
            "leads.xlsx",
            "--as-of",
            "2024-06-01",
            "--name",
            "NC2024",
            "--assign",
            "gongxintong=JXB,NCRCB",
            "--by-bank",
            "banks",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("工信通"), "{}", stdout(&o));
    let sheet = |path: &str| -> Vec<Vec<String>> {
        let bytes = std::fs::read(dir.path().join(path)).unwrap();
        let mut wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let range = wb.worksheet_range("线索").unwrap();
        range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    };
    let all = sheet("leads.xlsx");
    assert_eq!(all[0][0], "线索编号");
    assert_eq!(all[0][12], "符合原因");
    let gxt: Vec<&Vec<String>> = all.iter().filter(|r| r[1] == "工信通").collect();
    // every eligible firm but the one already holding it, in registry order
    assert_eq!(gxt.len(), eligible.len() - 1);
    for (i, r) in gxt.iter().enumerate() {
        assert_eq!(r[2], ["JXB", "NCRCB"][i % 2], "in turn");
        assert!(r[0].starts_with("NC2024-"), "{}", r[0]);
        assert!(r[12].contains("企业规模为"), "{}", r[12]);
        assert!(!r[10].is_empty(), "an annual cost");
    }
    let held_firm = lines[eligible[0]]["name"].as_str().unwrap();
    assert!(gxt.iter().all(|r| r[3] != held_firm));
    let with_contact = lines[eligible[1]]["name"].as_str().unwrap();
    let r = gxt.iter().find(|r| r[3] == with_contact).unwrap();
    assert_eq!((r[7].as_str(), r[8].as_str()), ("王经理", "0791-8888 6666"));
    // each bank's file holds its leads and no other bank's
    let jxb = sheet("banks/JXB.xlsx");
    let ncrcb = sheet("banks/NCRCB.xlsx");
    assert_eq!(jxb.len() - 1 + ncrcb.len() - 1, gxt.len());
    assert!(jxb.iter().skip(1).all(|r| r[2] == "JXB"));
    assert!(ncrcb.iter().skip(1).all(|r| r[2] == "NCRCB"));
    let unassigned = sheet("banks/未分配.xlsx");
    assert_eq!(unassigned.len() - 1 + gxt.len(), all.len() - 1);
    // the same leads as CSV, with a byte-order mark for Excel
    let o = run(
        &[
            "campaign",
            "--input",
            "reg.jsonl",
            "--out",
            "leads.csv",
            "--as-of",
            "2024-06-01",
            "--name",
            "NC2024",
            "--assign",
            "gongxintong=JXB,NCRCB",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(dir.path().join("leads.csv")).unwrap();
    assert!(csv.starts_with("\u{FEFF}线索编号,"));
    assert_eq!(csv.lines().count(), all.len());
    // bad flags: one line naming the flag
    for (args, flag) in [
        (vec!["--out", "leads.txt"], "--out"),
        (
            vec!["--out", "l.xlsx", "--assign", "no_such=JXB"],
            "--assign",
        ),
        (vec!["--out", "l.xlsx", "--name", "a b"], "--name"),
        (vec!["--out", "l.xlsx", "--product", "no_such"], "--product"),
    ] {
        let mut a = vec!["campaign", "--input", "reg.jsonl"];
        a.extend(args);
        let o = run(&a, dir.path());
        assert_eq!(o.status.code(), Some(1), "{a:?}");
        let e = stderr(&o);
        assert!(e.contains(flag) && e.trim().lines().count() == 1, "{e}");
    }
}

/// The example at the head of docs/cli.md is what the command prints: every
/// line it shows, in order (`…` stands for lines left out).
#[test]
fn the_cli_guide_shows_what_match_prints() {
    let guide = include_str!("../../docs/cli.md");
    let shown = guide
        .split("```\n南昌某新材料科技有限公司")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .map(|b| format!("南昌某新材料科技有限公司{b}"))
        .expect("the example");
    let dir = tempfile::tempdir().unwrap();
    let o = run(
        &[
            "match",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/firm.json"),
            "--as-of",
            "2025-06-01",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let printed = stdout(&o);
    let mut lines = printed.lines();
    for want in shown.lines().filter(|l| l.trim() != "…" && !l.is_empty()) {
        assert!(
            lines.any(|l| l == want),
            "docs/cli.md shows a line the command does not print (or not in this order):\n{want}\n\n{printed}"
        );
    }
}

/// What a newcomer meets: a misspelt key answered with the key it probably
/// is; a number where text is expected named with the fix; amounts as
/// documents write them; `--output -` to standard output; a match date far
/// past the LPR table warned about.
#[test]
fn first_contact_messages_name_the_field_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let case = |json: &str| {
        std::fs::write(dir.path().join("p.json"), json).unwrap();
        run(&["match", "p.json", "--as-of", "2025-06-01"], dir.path())
    };
    let o = case(r#"{"name": "甲", "anual_revenue": "300万"}"#);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("anual_revenue: unknown field: did you mean `annual_revenue`?"),
        "{e}"
    );
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    let o = case(r#"{"name": "甲", "annual_revenue": 3000000}"#);
    let e = stderr(&o);
    assert!(
        e.contains("annual_revenue: invalid type: integer `3000000`"),
        "{e}"
    );
    assert!(e.contains("\"300万\""), "{e}");
    for amount in ["300万元", "300 万元", "3,000,000.00元"] {
        let o = case(&format!(
            r#"{{"name": "甲", "industry_code": "C3562", "employees": 24, "annual_revenue": "{amount}"}}"#
        ));
        assert!(o.status.success(), "{amount}: {}", stderr(&o));
        assert!(stdout(&o).contains("小型"), "{amount}");
    }
    // the registry's records to standard output, its summary to standard error
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/firms.jsonl");
    let o = run(
        &[
            "match",
            "--input",
            data,
            "--output",
            "-",
            "--as-of",
            "2025-06-01",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 200);
    assert!(stderr(&o).contains("结果写入标准输出"), "{}", stderr(&o));
    assert!(!dir.path().join("-").exists());
    // a date well past the LPR table
    let o = run(&["match", "p.json", "--as-of", "2030-01-01"], dir.path());
    assert!(stderr(&o).contains("LPR最后一行生效于"), "{}", stderr(&o));
    let o = run(&["match", "p.json", "--as-of", "2025-06-01"], dir.path());
    assert!(!stderr(&o).contains("LPR最后一行"), "{}", stderr(&o));
}

/// SIGHUP reloads the token file without stopping the server: the new
/// tokens admit calls and the old ones no longer do; a file that does not
/// load leaves the tokens in force, with an error line. The start-up line
/// comes only after the start-up checks, with the version.
#[test]
fn sighup_reloads_the_token_file() {
    use smefin::server::auth::token_hash;
    let d = tempfile::tempdir().unwrap();
    let file = |token: &str| {
        format!(
            "[[token]]\nsha256 = \"{}\"\nprincipal = \"bureau\"\n",
            token_hash(token)
        )
    };
    write(d.path(), "tokens.toml", &file("first-token"));
    let mut child = bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tokens",
            "tokens.toml",
        ])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .current_dir(d.path())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let started = listening_line(&mut err);
    assert!(
        started.contains(&format!("version={}", env!("CARGO_PKG_VERSION"))),
        "{started}"
    );
    let addr = addr_of(&started);
    let mut line = String::new();
    let pid = child.id().to_string();
    let hup = || {
        assert!(
            Command::new("kill")
                .args(["-HUP", &pid])
                .status()
                .unwrap()
                .success()
        );
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let call = |token: &'static str| {
        rt.block_on(async {
            use smefin::server::pb;
            let mut c = pb::matching_service_client::MatchingServiceClient::connect(format!(
                "http://{addr}"
            ))
            .await
            .unwrap();
            let mut req = tonic::Request::new(pb::GetProductRequest {
                product_id: "gongxintong".into(),
            });
            req.metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            c.get_product(req).await.map(|_| ()).map_err(|s| s.code())
        })
    };
    // waits for the log line that follows a SIGHUP
    let mut wait_for = |what: &str| {
        for _ in 0..50 {
            line.clear();
            if err.read_line(&mut line).unwrap() == 0 {
                break;
            }
            if line.contains(what) {
                return line.clone();
            }
        }
        panic!("no `{what}` line; last: {line}");
    };
    assert_eq!(call("first-token"), Ok(()));
    assert_eq!(call("second-token"), Err(tonic::Code::Unauthenticated));
    write(d.path(), "tokens.toml", &file("second-token"));
    hup();
    let l = wait_for("reloaded the token file");
    assert!(l.contains("was=1") && l.contains("now=1"), "{l}");
    assert_eq!(call("second-token"), Ok(()));
    assert_eq!(call("first-token"), Err(tonic::Code::Unauthenticated));
    // a broken file: the tokens in force stay
    write(d.path(), "tokens.toml", "[[token]]\nsha256 = \"nothex\"\n");
    hup();
    wait_for("the previous tokens stay in force");
    assert_eq!(call("second-token"), Ok(()));
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(child.wait().unwrap().success());
}

/// A token file that is missing stops the start before the server says it
/// listens.
#[test]
fn a_missing_token_file_fails_before_listening() {
    let d = tempfile::tempdir().unwrap();
    let o = bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tokens",
            "absent.toml",
        ])
        .env("RUST_LOG", "info")
        .current_dir(d.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("absent.toml"), "{e}");
    assert!(!e.contains("smefin listening"), "{e}");
}

/// A file saved as GBK (as Excel saves a CSV on a Chinese Windows) is
/// refused with how to save it instead: a pool's status CSV, a spec, a line
/// of `match --input`.
#[test]
fn a_gbk_file_is_refused_with_how_to_save_it() {
    let d = tempfile::tempdir().unwrap();
    let gbk = |text: &str| encoding_rs::GBK.encode(text).0.into_owned();
    let csv = "loan_id,outstanding,days_past_due,status\n贷款一,280万,95,\n";
    std::fs::write(d.path().join("status.csv"), gbk(csv)).unwrap();
    let o = run(
        &[
            "pool",
            "status",
            "--pool",
            "P",
            "--bank",
            "JXB",
            "--as-of",
            "2023-06-30",
            "--file",
            "status.csv",
            "--data-dir",
            "data",
        ],
        d.path(),
    );
    assert_ne!(o.status.code(), Some(0));
    let e = stderr(&o);
    assert!(
        e.contains("status.csv: not UTF-8 text: it reads as GBK/GB18030"),
        "{e}"
    );
    assert!(e.contains("CSV UTF-8"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "one line: {e}");
    std::fs::write(
        d.path().join("book.toml"),
        gbk("# 资金池\nscenarios = 1000\n"),
    )
    .unwrap();
    let o = run(&["simulate", "book.toml"], d.path());
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("GBK/GB18030"), "{}", stderr(&o));
    // UTF-8 with Excel's byte-order mark reads
    let mut utf8 = b"\xEF\xBB\xBF".to_vec();
    utf8.extend_from_slice(
        "# 资金池\nscenarios = 1000\n[[portfolio.loans]]\namount = \"100万\"\npd = 0.02\n"
            .as_bytes(),
    );
    std::fs::write(d.path().join("bom.toml"), utf8).unwrap();
    let o = run(&["simulate", "bom.toml"], d.path());
    assert!(o.status.success(), "{}", stderr(&o));
    // a line of a JSON-lines input in GBK: that line's problem says so
    let mut lines = FIRM.replace('\n', " ").into_bytes();
    lines.push(b'\n');
    lines.extend(gbk("{\"name\": \"南昌某科技有限公司\"}\n"));
    std::fs::write(d.path().join("firms.jsonl"), lines).unwrap();
    let o = run(
        &[
            "match",
            "--input",
            "firms.jsonl",
            "--output",
            "out.jsonl",
            "--as-of",
            "2024-06-01",
        ],
        d.path(),
    );
    let out = std::fs::read_to_string(d.path().join("out.jsonl")).unwrap();
    assert!(out.lines().nth(1).unwrap().contains("GBK/GB18030"), "{out}");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

/// The audit trail: a line for every refused call (method, principal or why
/// none, peer, code, message) and for every write, whatever its result;
/// never a token.
#[test]
fn refused_calls_and_writes_leave_an_audit_line() {
    use smefin::server::auth::token_hash;
    use smefin::server::pb;
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "tokens.toml",
        &format!(
            "[[token]]\nsha256 = \"{}\"\nprincipal = \"bureau\"\n[[token]]\nsha256 = \"{}\"\nprincipal = \"bank:JXB\"\n",
            token_hash("bureau-secret-1"),
            token_hash("bank-secret-2")
        ),
    );
    let mut child = bin()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tokens",
            "tokens.toml",
            "--data-dir",
            "data",
        ])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .current_dir(d.path())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let addr = addr_of(&listening_line(&mut err));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let create = |token: &'static str, pool: &'static str| {
        rt.block_on(async {
            let mut c =
                pb::ledger_service_client::LedgerServiceClient::connect(format!("http://{addr}"))
                    .await
                    .unwrap();
            let mut req = tonic::Request::new(pb::CreatePoolRequest {
                pool_id: pool.into(),
                programme_id: "gongxintong".into(),
            });
            req.metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            c.create_pool(req).await.map(|_| ()).map_err(|s| s.code())
        })
    };
    assert_eq!(
        create("bank-secret-2", "P1"),
        Err(tonic::Code::PermissionDenied)
    );
    assert_eq!(
        create("no-such-token-3", "P2"),
        Err(tonic::Code::Unauthenticated)
    );
    assert_eq!(create("bureau-secret-1", "P3"), Ok(()));
    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let mut log = String::new();
    std::io::Read::read_to_string(&mut err, &mut log).unwrap();
    assert!(child.wait().unwrap().success());
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(" audit: ")).collect();
    assert_eq!(lines.len(), 3, "{log}");
    let method = "method=/smefin.v1.LedgerService/CreatePool";
    assert!(
        lines[0].contains(method)
            && lines[0].contains("principal=bank:JXB")
            && lines[0].contains("code=PermissionDenied")
            && lines[0].contains("peer=127.0.0.1:")
            && lines[0].contains("may not")
            && lines[0].contains("audit: refused"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("principal=none (unknown token)")
            && lines[1].contains("code=Unauthenticated"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("principal=bureau")
            && lines[2].contains("code=Ok")
            && lines[2].contains("write=true"),
        "{}",
        lines[2]
    );
    for secret in ["bureau-secret-1", "bank-secret-2", "no-such-token-3"] {
        assert!(!log.contains(secret), "a token in the log");
    }
}
