//! Risk-pool engine throughput (`cargo bench --bench riskpool`).
//!
//! The built-in 工信通 book (2,000 loans, 3000万 behind 6亿): the engine alone
//! on all cores and on one, single period; a 12-quarter run with revolving
//! lending, recoveries and a breaker; 12 quarters × 100,000 against one
//! period × 1,000,000 in one group (`multi_vs_single`, the ratio the speed
//! aim is stated in); and the semi-analytic engine (`analytic`) on the
//! built-in book and on a 100,000-loan book. Throughput is in scenarios.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smefin::riskpool::analytic::{Options, analyze};
use smefin::riskpool::spec::{BreakerSpec, DEFAULT_SPEC_TOML};
use smefin::riskpool::{Control, Engine, Limits, Model, Spec};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut Criterion) {
    let spec = Spec::from_toml(DEFAULT_SPEC_TOML).unwrap();
    let model = Model::compile(&spec, &Limits::default()).unwrap();
    let engine = Engine::new(&model);
    let n = 200_000u64;
    let mut g = c.benchmark_group("riskpool_2000_loans");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("single_period_all_cores", |b| {
        b.iter(|| black_box(engine.run(0..n, 0, &Control::default()).unwrap().len()))
    });
    g.bench_function("single_period_one_core", |b| {
        b.iter(|| black_box(engine.run(0..n, 1, &Control::default()).unwrap().len()))
    });
    g.finish();

    let mut multi = spec.clone();
    multi.periods = 12;
    multi.periods_per_year = 4;
    multi.factor_ar = 0.5;
    multi.pool.recovery_lag = 2;
    multi.pool.breaker = Some(BreakerSpec {
        default_rate: Some(0.05),
        compensation_ratio: None,
    });
    let mm = Model::compile(&multi, &Limits::default()).unwrap();
    let me = Engine::new(&mm);
    let n = 20_000u64;
    let mut g = c.benchmark_group("riskpool_2000_loans_12_quarters");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("all_cores", |b| {
        b.iter(|| black_box(me.run(0..n, 0, &Control::default()).unwrap().len()))
    });
    g.finish();
}

/// 12 quarters × 100,000 against 1 period × 1,000,000 on the built-in book,
/// same run (`benches/quarterly.toml` is the 12-quarter spec).
fn multi_vs_single(c: &mut Criterion) {
    let one = Spec::from_toml(DEFAULT_SPEC_TOML).unwrap();
    let one = Model::compile(&one, &Limits::default()).unwrap();
    let quarters = Spec::from_toml(include_str!("quarterly.toml")).unwrap();
    let quarters = Model::compile(&quarters, &Limits::default()).unwrap();
    let (e1, eq) = (Engine::new(&one), Engine::new(&quarters));
    let mut g = c.benchmark_group("multi_vs_single");
    g.sample_size(10);
    g.bench_function("1_period_x_1000000", |b| {
        b.iter(|| black_box(e1.run(0..1_000_000, 0, &Control::default()).unwrap().len()))
    });
    g.bench_function("12_quarters_x_100000", |b| {
        b.iter(|| black_box(eq.run(0..100_000, 0, &Control::default()).unwrap().len()))
    });
    g.finish();
}

/// The semi-analytic engine: the built-in book (2,000 loans), 100,000
/// loans (three lognormal segments, one factor), and 4,500 loans with two
/// sector factors (`benches/sectors.toml`).
fn analytic(c: &mut Criterion) {
    let builtin = Spec::from_toml(DEFAULT_SPEC_TOML).unwrap();
    let builtin = Model::compile(&builtin, &Limits::default()).unwrap();
    let big = Spec::from_toml(BOOK_100K).unwrap();
    let big = Model::compile(&big, &Limits::default()).unwrap();
    let mut g = c.benchmark_group("analytic");
    g.sample_size(10);
    g.bench_function("2000_loans", |b| {
        b.iter(|| black_box(analyze(&builtin, &Options::default(), &Control::default()).unwrap()))
    });
    g.bench_function("100000_loans", |b| {
        b.iter(|| black_box(analyze(&big, &Options::default(), &Control::default()).unwrap()))
    });
    let sectors = Spec::from_toml(include_str!("sectors.toml")).unwrap();
    let sectors = Model::compile(&sectors, &Limits::default()).unwrap();
    g.bench_function("two_sectors_4500_loans", |b| {
        b.iter(|| black_box(analyze(&sectors, &Options::default(), &Control::default()).unwrap()))
    });
    g.finish();
}

const BOOK_100K: &str = r#"
seed = 20261128
[pool]
capital = "15亿"
compensation_share = 0.5
[dependence]
rho = 0.15
[[portfolio.segments]]
count = 50000
total = "150亿"
size_sigma = 1.0
pd = 0.02
lgd = 0.6
[[portfolio.segments]]
count = 30000
total = "90亿"
size_sigma = 1.0
pd = 0.025
lgd = 0.6
[[portfolio.segments]]
count = 20000
total = "60亿"
size_sigma = 1.0
pd = 0.015
lgd = 0.6
"#;

criterion_group!(benches, bench, multi_vs_single, analytic);
criterion_main!(benches);
