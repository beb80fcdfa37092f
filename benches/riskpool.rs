//! Risk-pool engine throughput (`cargo bench --bench riskpool`).
//!
//! The built-in 工信通 book (2,000 loans, 3000万 behind 6亿): the engine alone
//! on all cores and on one, single period; and a 12-quarter run with
//! revolving lending, recoveries and a breaker. Throughput is in scenarios.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
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

criterion_group!(benches, bench);
criterion_main!(benches);
