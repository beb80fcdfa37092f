//! Matching throughput: one profile against the whole built-in catalogue, and
//! a batch of 100,000 generated profiles.
//!
//! `evaluate` is the decision itself (every rule of every product in force,
//! the offer and its cost, ranking); `report` adds rendering every Chinese
//! sentence and suggestion into the owned response. Run with
//! `cargo bench --bench matching`.

use std::hint::black_box;

// The same allocator as the `smefin` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smefin::catalog::Catalog;
use smefin::enterprise::{Profile, RawProfile, RawRequest};
use smefin::matching::{self, MatchOptions};

/// SplitMix64: a tiny deterministic generator for test data.
struct Mix(u64);
impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// A varied registry of Jiangxi firms: industries, sizes, regions,
/// certifications and requests drawn so that every product sees eligible,
/// ineligible and needs-info cases.
fn generate(n: usize, seed: u64) -> Vec<Profile> {
    let mut r = Mix(seed);
    let industries = [
        "C3562", "C3914", "C1713", "B0610", "D4411", "F5126", "F5261", "I6510", "R8810", "H6110",
        "L7291", "E4710", "K7010", "M7320",
    ];
    let regions = [
        "360102", "360111", "360402", "360702", "360902", "361002", "430111", "36",
    ];
    let certs = [
        "innovative_sme",
        "zjtx_provincial",
        "zjtx_nanchang",
        "little_giant_provincial",
        "little_giant_national",
        "high_tech",
        "tech_sme",
    ];
    let purposes = ["working_capital", "fixed_assets", "technology", "renewal"];
    (0..n)
        .map(|i| {
            let employees = 1 + r.below(600) as i64;
            let hires = r.below(employees as u64 / 3 + 1) as i64;
            let mut c = Vec::new();
            for _ in 0..r.below(3) {
                c.push(r.pick(&certs).to_string());
            }
            let raw = RawProfile {
                credit_code: None,
                name: format!("企业{i}"),
                region_code: (r.below(20) != 0).then(|| r.pick(&regions).to_string()),
                industry_code: Some(r.pick(&industries).to_string()),
                employees: Some(employees),
                annual_revenue: (r.below(10) != 0).then(|| format!("{}万", 50 + r.below(60000))),
                total_assets: Some(format!("{}万", 100 + r.below(90000))),
                established: Some(format!(
                    "{}-0{}-1{}",
                    2000 + r.below(24),
                    1 + r.below(9),
                    r.below(10)
                )),
                certifications: Some(c),
                in_industrial_park: Some(r.below(2) == 0),
                is_cultural_tourism: None,
                tax_credit_grade: Some(r.pick(&["A", "B", "M", "C", "D"]).to_string()),
                has_bank_loans: (r.below(10) != 0).then(|| r.below(3) != 0),
                new_eligible_hires: Some(hires),
                wage_or_social_insurance_arrears: Some(r.below(20) == 0),
                has_registered_ip: Some(r.below(3) == 0),
                has_receivables: Some(r.below(3) == 0),
                request: Some(RawRequest {
                    amount: Some(format!("{}万", 10 + r.below(1500))),
                    term_months: Some([6, 12, 24, 36][r.below(4) as usize]),
                    purpose: Some(r.pick(&purposes).to_string()),
                }),
                ..RawProfile::default()
            };
            Profile::from_raw(raw).expect("generated profiles are valid")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let catalog = Catalog::builtin();
    let opts = MatchOptions::on(NaiveDate::from_ymd_opt(2024, 6, 1).unwrap());
    let one = generate(1, 7).pop().unwrap();

    let mut g = c.benchmark_group("one_profile");
    g.throughput(Throughput::Elements(1));
    g.bench_function("evaluate", |b| {
        b.iter(|| {
            let p = black_box(&one);
            let cls = p.classify();
            let ev = matching::evaluate(&catalog, p, &cls, &opts).unwrap();
            black_box(ev.products.len())
        })
    });
    g.bench_function("evaluate_and_report", |b| {
        b.iter(|| black_box(matching::match_profile(&catalog, black_box(&one), &opts).unwrap()))
    });
    // The BASIC view: statuses, offers, codes; no sentences rendered.
    g.bench_function("evaluate_and_report_basic", |b| {
        b.iter(|| {
            black_box(
                matching::match_profile_view(
                    &catalog,
                    black_box(&one),
                    &opts,
                    matching::View::Basic,
                )
                .unwrap(),
            )
        })
    });
    g.finish();

    let batch = generate(100_000, 42);
    let mut g = c.benchmark_group("batch_100k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("evaluate", |b| {
        b.iter(|| {
            let mut eligible = 0usize;
            for p in &batch {
                let cls = p.classify();
                let ev = matching::evaluate(&catalog, p, &cls, &opts).unwrap();
                eligible += ev
                    .products
                    .iter()
                    .filter(|e| e.status == matching::MatchStatus::Eligible)
                    .count();
            }
            black_box(eligible)
        })
    });
    g.bench_function("evaluate_and_report", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for p in &batch {
                n += matching::match_profile(&catalog, p, &opts)
                    .unwrap()
                    .eligible
                    .len();
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
