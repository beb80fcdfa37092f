//! Referral speed (`cargo bench --bench referral`): a page of 1,000 leads
//! as ListLeads reads it (the store's query and the conversion to the
//! wire), from a campaign of 300,000 leads over three banks, in SQLite and
//! in PostgreSQL (a throwaway cluster) in the same run; and storing the
//! campaign.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use smefin::kernel::money::Yuan;
use smefin::matching::leads::Lead;
use smefin::store::referral::{LeadFilter, NewCampaign};
use smefin::store::{Backend, Location, StoreOptions};

#[path = "../tests/common/mod.rs"]
mod common;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LEADS: usize = 300_000;
const BANKS: [&str; 3] = ["JXB", "NCRCB", "GZB"];

fn leads() -> Vec<Lead> {
    (0..LEADS)
        .map(|i| {
            let bank = BANKS[i % 3];
            Lead {
                id: format!("BENCH-{bank}-{:06}", i / 3 + 1),
                line: i as u64 + 1,
                product_id: "gongxintong".into(),
                product_name: "工信通".into(),
                bank_id: Some(bank.into()),
                firm: format!("南昌某{i}号科技有限公司"),
                credit_code: Some("91360100MA35XXXX0X".into()),
                region_code: Some("360102".into()),
                size_class: None,
                contact: None,
                amount: Some(Yuan::wan(300)),
                annual_cost: Some(Yuan::parse("103500.00").unwrap()),
                benefit: None,
                reasons: "企业规模为小型（按工业：从业人员20人及以上且营业收入300万元及以上）；属于专精特新中小企业；纳税信用等级为A级；无欠薪欠缴社保".into(),
            }
        })
        .collect()
}

fn store(loc: &Location, leads: &[Lead]) -> Arc<dyn Backend> {
    let s = smefin::store::open(loc, &StoreOptions::default()).unwrap();
    let c = NewCampaign {
        id: "BENCH".into(),
        as_of: "2024-06-01".parse().unwrap(),
        firms: LEADS as u64,
        invalid: 0,
        already: Default::default(),
    };
    let t = Instant::now();
    s.save_campaign("bench", "h", "bureau", &c, leads).unwrap();
    eprintln!(
        "{}: stored {LEADS} leads in {:.2} s",
        s.backend(),
        t.elapsed().as_secs_f64()
    );
    s
}

fn page(c: &mut Criterion, name: &str, s: &dyn Backend) {
    let filter = LeadFilter {
        campaign: Some("BENCH".into()),
        bank: Some("NCRCB".into()),
        product: None,
    };
    // a page from the middle of the bank's leads
    let mid = s.leads(&filter, 0, 50_001).unwrap().last().unwrap().seq;
    c.bench_function(&format!("list_leads_1000/{name}"), |b| {
        b.iter(|| {
            let rows = s.leads(&filter, mid, 1001).unwrap();
            let page: Vec<_> = rows
                .iter()
                .take(1000)
                .map(smefin::server::convert::referral::lead)
                .collect();
            black_box(page)
        })
    });
}

fn bench(c: &mut Criterion) {
    let leads = leads();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = store(&Location::Sqlite(dir.path().to_path_buf()), &leads);
    page(c, "sqlite", sqlite.as_ref());
    if let Some(pg) = common::pg::PgCluster::start() {
        let url = pg.database("smefin_bench");
        let s = store(&Location::Postgres(url), &leads);
        page(c, "postgres", s.as_ref());
        drop(s);
        drop(pg);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
