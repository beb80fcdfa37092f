//! The funnel of a campaign: leads → contacted → applied → approved →
//! amount lent, by product, bank, region and firm size; why leads were
//! declined; how many days from the campaign to the bank's decision.
//!
//! A lead counts at the stage of its latest outcome (a bank's correction
//! replaces what it said before). The funnel is a fold over the leads a
//! caller may see: a bank's funnel is over its own leads alone.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::referral::{DeclineReason, Outcome, OutcomeReport};
use crate::enterprise::SizeClass;
use crate::kernel::money::Yuan;

/// One lead as the funnel sees it.
#[derive(Debug, Clone)]
pub struct FunnelRow {
    /// Product id.
    pub product_id: String,
    /// Product name.
    pub product_name: String,
    /// The bank it went to.
    pub bank_id: Option<String>,
    /// The firm's area code.
    pub region_code: Option<String>,
    /// The firm's size class.
    pub size_class: Option<SizeClass>,
    /// The latest outcome reported, if any.
    pub latest: Option<OutcomeReport>,
}

/// Counts at each stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stages {
    /// Leads sent.
    pub leads: u64,
    /// Reached (every outcome but unreachable).
    pub contacted: u64,
    /// Could not be reached.
    pub unreachable: u64,
    /// Applied (applied, approved or declined).
    pub applied: u64,
    /// Approved.
    pub approved: u64,
    /// Declined.
    pub declined: u64,
    /// Amount lent on the approved leads.
    pub amount_lent: Yuan,
}

impl Stages {
    fn add(&mut self, latest: Option<&Outcome>) {
        self.leads += 1;
        let Some(o) = latest else { return };
        self.contacted += u64::from(o.reached());
        self.unreachable += u64::from(!o.reached());
        self.applied += u64::from(o.applied());
        match o {
            Outcome::Approved(a) => {
                self.approved += 1;
                self.amount_lent = Yuan(self.amount_lent.0 + a.amount.0);
            }
            Outcome::Declined { .. } => self.declined += 1,
            _ => {}
        }
    }

    /// Approved ÷ leads, when there are leads.
    pub fn conversion(&self) -> Option<f64> {
        (self.leads > 0).then(|| self.approved as f64 / self.leads as f64)
    }
}

/// The stages of one product, bank, region or size class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Its key (product id, bank id, area code, size code; `` for none).
    pub key: String,
    /// What an officer reads (product name, 南昌市, 小型, 未分配).
    pub label: String,
    /// Its counts.
    #[serde(flatten)]
    pub stages: Stages,
}

/// Days from the campaign's date to each decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DecisionDays {
    /// Leads decided (approved or declined).
    pub decided: u64,
    /// Mean days.
    pub mean: Option<f64>,
    /// Median days (the lower middle of an even count).
    pub median: Option<i64>,
    /// 90th percentile (nearest rank).
    pub p90: Option<i64>,
}

impl DecisionDays {
    fn of(mut days: Vec<i64>) -> DecisionDays {
        if days.is_empty() {
            return DecisionDays::default();
        }
        days.sort_unstable();
        let n = days.len();
        let rank = |q: f64| days[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        DecisionDays {
            decided: n as u64,
            mean: Some(days.iter().sum::<i64>() as f64 / n as f64),
            median: Some(days[(n - 1) / 2]),
            p90: Some(rank(0.9)),
        }
    }
}

/// Declined leads with one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeclineCount {
    /// The reason's code.
    pub reason: String,
    /// Its label.
    pub label: String,
    /// Leads declined for it.
    pub leads: u64,
}

/// A campaign's funnel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    /// The campaign.
    pub campaign_id: String,
    /// Its date (the match date).
    pub as_of: NaiveDate,
    /// Over every lead shown.
    pub total: Stages,
    /// Per product, in product-id order.
    pub by_product: Vec<Group>,
    /// Per bank (`` for unassigned).
    pub by_bank: Vec<Group>,
    /// Per area code.
    pub by_region: Vec<Group>,
    /// Per size class (大型 … 微型, then unknown).
    pub by_size: Vec<Group>,
    /// Declined leads by reason, in the fixed order; reasons with none left out.
    pub declines: Vec<DeclineCount>,
    /// Days from the campaign's date to each decision.
    pub decision_days: DecisionDays,
}

/// The counts of a fold in progress.
#[derive(Default)]
struct Tally {
    total: Stages,
    product: BTreeMap<String, (String, Stages)>,
    bank: BTreeMap<String, Stages>,
    region: BTreeMap<String, Stages>,
    size: BTreeMap<Option<SizeClass>, Stages>,
    declines: BTreeMap<DeclineReason, u64>,
    days: Vec<i64>,
}

impl Tally {
    fn add(&mut self, r: FunnelRow, as_of: NaiveDate) {
        let latest = r.latest.as_ref().map(|l| &l.outcome);
        self.total.add(latest);
        self.product
            .entry(r.product_id)
            .or_insert_with(|| (r.product_name, Stages::default()))
            .1
            .add(latest);
        self.bank
            .entry(r.bank_id.unwrap_or_default())
            .or_default()
            .add(latest);
        self.region
            .entry(r.region_code.unwrap_or_default())
            .or_default()
            .add(latest);
        self.size.entry(r.size_class).or_default().add(latest);
        if let Some(l) = &r.latest {
            if let Outcome::Declined { reason } = l.outcome {
                *self.declines.entry(reason).or_default() += 1;
            }
            if l.outcome.decided() {
                self.days.push((l.date - as_of).num_days());
            }
        }
    }
}

fn group(key: String, label: String, stages: Stages) -> Group {
    Group { key, label, stages }
}

/// Folds the funnel of campaign `campaign_id` dated `as_of` over `rows`.
pub fn fold(
    campaign_id: &str,
    as_of: NaiveDate,
    rows: impl IntoIterator<Item = FunnelRow>,
) -> Funnel {
    let mut t = Tally::default();
    for r in rows {
        t.add(r, as_of);
    }
    // (the size classes in their order, the unknown last)
    let unknown = t.size.remove(&None);
    Funnel {
        campaign_id: campaign_id.to_string(),
        as_of,
        total: t.total,
        by_product: t
            .product
            .into_iter()
            .map(|(k, (name, s))| group(k, name, s))
            .collect(),
        by_bank: t
            .bank
            .into_iter()
            .map(|(k, s)| {
                let label = if k.is_empty() {
                    "未分配".to_string()
                } else {
                    k.clone()
                };
                group(k, label, s)
            })
            .collect(),
        by_region: t
            .region
            .into_iter()
            .map(|(k, s)| {
                let label = match k.as_str() {
                    "" => "地区未知".to_string(),
                    code => crate::enterprise::region::describe(code),
                };
                group(k, label, s)
            })
            .collect(),
        by_size: t
            .size
            .into_iter()
            .chain(unknown.map(|s| (None, s)))
            .map(|(k, s)| match k {
                Some(c) => group(format!("{c:?}").to_lowercase(), c.name_zh().into(), s),
                None => group(String::new(), "规模未知".into(), s),
            })
            .collect(),
        declines: DeclineReason::ALL
            .iter()
            .filter_map(|r| {
                t.declines.get(r).map(|&n| DeclineCount {
                    reason: r.code().into(),
                    label: r.label().into(),
                    leads: n,
                })
            })
            .collect(),
        decision_days: DecisionDays::of(t.days),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::referral::Approval;

    fn row(product: &str, bank: Option<&str>, outcome: Option<(Outcome, &str)>) -> FunnelRow {
        FunnelRow {
            product_id: product.into(),
            product_name: format!("{product}名"),
            bank_id: bank.map(Into::into),
            region_code: Some("360100".into()),
            size_class: Some(SizeClass::Small),
            latest: outcome.map(|(outcome, date)| OutcomeReport {
                outcome,
                date: date.parse().unwrap(),
                note: String::new(),
            }),
        }
    }

    fn approved(wan: i64) -> Outcome {
        Outcome::Approved(Approval {
            amount: Yuan::wan(wan),
            annual_rate: "0.035".parse().unwrap(),
            term_months: 12,
            loan_id: "L".into(),
        })
    }

    #[test]
    fn the_funnel_counts_each_lead_at_its_latest_stage() {
        let declined = |r| Outcome::Declined { reason: r };
        let rows = vec![
            row("a", Some("JXB"), None),
            row("a", Some("JXB"), Some((Outcome::Unreachable, "2024-06-03"))),
            row("a", Some("NCRCB"), Some((Outcome::Contacted, "2024-06-03"))),
            row("a", Some("NCRCB"), Some((Outcome::Applied, "2024-06-05"))),
            row("b", Some("JXB"), Some((approved(300), "2024-06-11"))),
            row("b", None, Some((approved(50), "2024-06-21"))),
            row(
                "b",
                Some("JXB"),
                Some((declined(DeclineReason::Cashflow), "2024-07-01")),
            ),
            row(
                "b",
                Some("JXB"),
                Some((declined(DeclineReason::Cashflow), "2024-06-02")),
            ),
        ];
        let f = fold("C1", "2024-06-01".parse().unwrap(), rows);
        let t = &f.total;
        assert_eq!(
            (
                t.leads,
                t.contacted,
                t.unreachable,
                t.applied,
                t.approved,
                t.declined
            ),
            (8, 6, 1, 5, 2, 2)
        );
        assert_eq!(t.amount_lent, Yuan::wan(350));
        assert_eq!(f.by_product.len(), 2);
        assert_eq!(f.by_product[1].stages.approved, 2);
        let banks: Vec<(&str, u64)> = f
            .by_bank
            .iter()
            .map(|g| (g.label.as_str(), g.stages.leads))
            .collect();
        assert_eq!(banks, [("未分配", 1), ("JXB", 5), ("NCRCB", 2)]);
        assert_eq!(f.declines.len(), 1);
        assert_eq!(
            (f.declines[0].label.as_str(), f.declines[0].leads),
            ("经营现金流不足", 2)
        );
        // decisions on days 10, 20, 30, 1
        let d = &f.decision_days;
        assert_eq!(d.decided, 4);
        assert_eq!(d.mean, Some(15.25));
        assert_eq!((d.median, d.p90), (Some(10), Some(30)));
        assert_eq!(f.by_size[0].label, "小型");
        assert!(
            f.by_region[0].label.contains("南昌市"),
            "{}",
            f.by_region[0].label
        );
    }
}
