//! Incentive accounting for 普惠小微 lending: the central-bank style
//! incentive for local corporate banks (地方法人金融机构) — a rate times the
//! quarterly increase of their 普惠小微 loan balance, exact to the fen.
//!
//! Rules (policy-facts §0 and §3; the UNCERTAIN ones are configurable):
//! - only local-corporate institution types qualify ([`IncentiveRules::qualifying`]);
//! - increment = balance at quarter end − balance at the previous quarter end;
//!   incentive = rate × increment when positive, else 0, rounded to the fen
//!   half away from zero; a missing previous quarter is an error for that
//!   bank, never a silent zero;
//! - rates by quarter come from a schedule: 1% for 2022Q1, 2% from 2022Q2 to
//!   2024Q4 by default, nothing outside unless configured (only the 2% is in
//!   a seed text, 赣中小领字〔2023〕3号; the dates are uncertain defaults);
//! - a loan counts as 普惠小微 when its borrower is a 小微企业, or a 个体工商户 or
//!   小微企业主 borrowing for business, and the borrower's total credit line at
//!   the bank is within the limit (1000万; 2000万 from 2024, an uncertain
//!   default from the national 2024 口径, in no seed text);
//! - over budget, every incentive is scaled pro rata so that the total equals
//!   the budget exactly, the last fen going by largest remainder.

pub mod csv;
mod ids;
mod statement;

pub use self::ids::{LoanIds, MAX_ID_CHARS, check_bank_id, check_id, check_text, normalize_id};
pub use statement::{StatementInputs, compute, statement_from};

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::kernel::money::Yuan;
use crate::kernel::named_enum;

/// A calendar quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    /// Year.
    pub year: i32,
    /// Quarter 1–4.
    pub q: u8,
}

impl Quarter {
    /// The quarter before.
    pub fn prev(self) -> Quarter {
        if self.q == 1 {
            Quarter {
                year: self.year - 1,
                q: 4,
            }
        } else {
            Quarter {
                year: self.year,
                q: self.q - 1,
            }
        }
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Q{}", self.year, self.q)
    }
}

impl FromStr for Quarter {
    type Err = String;
    /// Parses exactly `YYYYQn` ("2023Q2"): four digits, `Q`, one digit 1–4.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a quarter (expected e.g. \"2023Q2\")");
        let b = s.as_bytes();
        if b.len() != 6 || b[4] != b'Q' || !b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit) {
            return Err(bad());
        }
        let year: i32 = s[..4].parse().map_err(|_| bad())?;
        let q: u8 = s[5..].parse().map_err(|_| bad())?;
        if !(1..=4).contains(&q) || !(1990..=2200).contains(&year) {
            return Err(bad());
        }
        Ok(Quarter { year, q })
    }
}

impl Serialize for Quarter {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Quarter {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

named_enum!(
    /// Type of banking institution.
    InstitutionType, {
    /// 国有大型商业银行.
    StateOwnedLarge = "state_owned_large", "国有大型商业银行";
    /// 股份制商业银行.
    JointStock = "joint_stock", "股份制商业银行";
    /// 政策性银行.
    Policy = "policy", "政策性银行";
    /// 外资银行.
    Foreign = "foreign", "外资银行";
    /// 异地银行分支机构 (branch of a bank headquartered elsewhere).
    OutOfProvinceBranch = "out_of_province_branch", "异地银行分支机构";
    /// 城市商业银行.
    CityCommercial = "city_commercial", "城市商业银行";
    /// 农村商业银行.
    RuralCommercial = "rural_commercial", "农村商业银行";
    /// 农村合作银行.
    RuralCooperative = "rural_cooperative", "农村合作银行";
    /// 农村信用社.
    RuralCreditCooperative = "rural_credit_cooperative", "农村信用社";
    /// 村镇银行.
    Village = "village", "村镇银行";
    /// 民营银行.
    Private = "private", "民营银行";
});

named_enum!(
    /// Type of borrower of a loan.
    BorrowerType, {
    /// 小微企业.
    SmallMicroEnterprise = "small_micro_enterprise", "小微企业";
    /// 个体工商户.
    IndividualBusiness = "individual_business", "个体工商户";
    /// 小微企业主.
    SmallMicroOwner = "small_micro_owner", "小微企业主";
    /// 大中型企业.
    LargeMediumEnterprise = "large_medium_enterprise", "大中型企业";
    /// 其他个人.
    OtherIndividual = "other_individual", "其他个人";
});

named_enum!(
    /// Purpose of a loan.
    LoanUse, {
    /// 经营性.
    Business = "business", "经营性";
    /// 消费.
    Consumption = "consumption", "消费";
    /// 其他.
    Other = "other", "其他";
});

/// Why a loan is not 普惠小微.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Exclusion {
    /// The borrower is not a small/micro firm, individual business or owner.
    BorrowerType,
    /// An individual's loan is not for business.
    NonBusinessPurpose,
    /// The borrower's credit line at the bank exceeds the limit.
    CreditLineAboveLimit,
}

impl Exclusion {
    /// Chinese reason.
    pub fn name_zh(self) -> &'static str {
        match self {
            Exclusion::BorrowerType => "借款人不属于小微企业、个体工商户或小微企业主",
            Exclusion::NonBusinessPurpose => "个体工商户或小微企业主贷款非经营性用途",
            Exclusion::CreditLineAboveLimit => "单户授信总额超过普惠小微口径上限",
        }
    }
}

/// A rate that applies to a range of quarters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateStep {
    /// First quarter.
    pub from: Quarter,
    /// Last quarter.
    pub to: Quarter,
    /// Rate, decimal fraction.
    #[serde(with = "crate::kernel::money::rate_serde")]
    pub rate: Decimal,
}

/// A credit-line limit from a quarter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineLimit {
    /// First quarter it applies to.
    pub from: Quarter,
    /// Largest eligible credit line per borrower.
    pub limit: Yuan,
}

/// The configurable rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncentiveRules {
    /// Institution types that qualify.
    pub qualifying: Vec<InstitutionType>,
    /// Rate schedule.
    pub rates: Vec<RateStep>,
    /// Credit-line limits, by first quarter.
    pub line_limits: Vec<LineLimit>,
}

fn q(year: i32, q: u8) -> Quarter {
    Quarter { year, q }
}

impl Default for IncentiveRules {
    fn default() -> Self {
        use InstitutionType::*;
        IncentiveRules {
            qualifying: vec![
                CityCommercial,
                RuralCommercial,
                RuralCooperative,
                RuralCreditCooperative,
                Village,
                Private,
            ],
            rates: vec![
                RateStep {
                    from: q(2022, 1),
                    to: q(2022, 1),
                    rate: Decimal::new(1, 2),
                },
                RateStep {
                    from: q(2022, 2),
                    to: q(2024, 4),
                    rate: Decimal::new(2, 2),
                },
            ],
            line_limits: vec![
                LineLimit {
                    from: q(2000, 1),
                    limit: Yuan::wan(1000),
                },
                LineLimit {
                    from: q(2024, 1),
                    limit: Yuan::wan(2000),
                },
            ],
        }
    }
}

impl IncentiveRules {
    /// The rate of a quarter, when the schedule has one.
    pub fn rate(&self, quarter: Quarter) -> Option<Decimal> {
        self.rates
            .iter()
            .rev()
            .find(|r| r.from <= quarter && quarter <= r.to)
            .map(|r| r.rate)
    }

    /// The credit-line limit of a quarter.
    pub fn line_limit(&self, quarter: Quarter) -> Option<Yuan> {
        self.line_limits
            .iter()
            .filter(|l| l.from <= quarter)
            .max_by_key(|l| l.from)
            .map(|l| l.limit)
    }

    /// The credit-line limit that applies to `quarter`, or why there is
    /// none: a quarter before the first configured limit is refused, never
    /// given a default.
    pub fn line_limit_for(&self, quarter: Quarter) -> Result<Yuan, String> {
        self.line_limit(quarter).ok_or_else(|| {
            format!(
                "no 普惠小微 credit-line limit is configured for {quarter} (incentive.line_limits starts at {})",
                self.line_limits
                    .iter()
                    .map(|l| l.from)
                    .min()
                    .map_or("no quarter".to_string(), |q| q.to_string())
            )
        })
    }

    /// Whether an institution type qualifies.
    pub fn qualifies(&self, t: InstitutionType) -> bool {
        self.qualifying.contains(&t)
    }
}

/// A loan of a bank's snapshot.
///
/// One rule for every way a loan arrives (gRPC snapshots, the CSV loans
/// file): [`LoanRecord::problems`] after its fields are parsed, and
/// [`LoanIds`] across the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoanRecord {
    /// Loan id.
    pub loan_id: String,
    /// Borrower id.
    pub borrower_id: String,
    /// Borrower type.
    pub borrower_type: BorrowerType,
    /// Purpose.
    pub purpose: LoanUse,
    /// The borrower's total credit line at the bank.
    pub credit_line: Yuan,
    /// Outstanding balance.
    pub balance: Yuan,
}

impl LoanRecord {
    /// What is wrong with a parsed loan, as (field, why): the borrower id is
    /// required (the credit-line limit is per borrower, so a loan without
    /// one cannot be placed) and at most [`MAX_ID_CHARS`] characters.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        check_id(&self.borrower_id)
            .err()
            .map(|why| ("borrower_id", why))
            .into_iter()
            .collect()
    }
}

/// Loans excluded for one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excluded {
    /// Reason.
    pub reason: Exclusion,
    /// Loans.
    pub loans: u64,
    /// Their balance.
    pub balance: Yuan,
}

/// A bank's 普惠小微 balance computed from a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotBalance {
    /// Eligible balance.
    pub balance: Yuan,
    /// Eligible loans.
    pub loans: u64,
    /// Exclusions by reason.
    pub excluded: Vec<Excluded>,
}

/// Classifies one loan, given its borrower's largest reported credit line.
pub fn classify_loan(l: &LoanRecord, line: Yuan, limit: Yuan) -> Result<(), Exclusion> {
    use BorrowerType::*;
    match l.borrower_type {
        SmallMicroEnterprise => {}
        IndividualBusiness | SmallMicroOwner => {
            if l.purpose != LoanUse::Business {
                return Err(Exclusion::NonBusinessPurpose);
            }
        }
        LargeMediumEnterprise | OtherIndividual => return Err(Exclusion::BorrowerType),
    }
    if line > limit {
        return Err(Exclusion::CreditLineAboveLimit);
    }
    Ok(())
}

/// Sums the 普惠小微 balance of a snapshot. A borrower's credit line is the
/// largest any of its records reports (rows are expected to agree; the
/// largest is the conservative reading).
pub fn snapshot_balance(loans: &[LoanRecord], limit: Yuan) -> SnapshotBalance {
    let mut lines: std::collections::HashMap<&str, Yuan> =
        std::collections::HashMap::with_capacity(loans.len());
    for l in loans {
        let e = lines.entry(l.borrower_id.as_str()).or_insert(l.credit_line);
        if l.credit_line > *e {
            *e = l.credit_line;
        }
    }
    let mut balance = Decimal::ZERO;
    let mut count = 0u64;
    let mut ex: BTreeMap<Exclusion, (u64, Decimal)> = BTreeMap::new();
    for l in loans {
        match classify_loan(l, lines[l.borrower_id.as_str()], limit) {
            Ok(()) => {
                balance += l.balance.0;
                count += 1;
            }
            Err(r) => {
                let e = ex.entry(r).or_default();
                e.0 += 1;
                e.1 += l.balance.0;
            }
        }
    }
    SnapshotBalance {
        balance: Yuan(balance),
        loans: count,
        excluded: ex
            .into_iter()
            .map(|(reason, (n, b))| Excluded {
                reason,
                loans: n,
                balance: Yuan(b),
            })
            .collect(),
    }
}

/// A registered bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bank {
    /// Id.
    pub bank_id: String,
    /// Name.
    pub name: String,
    /// Institution type.
    pub institution_type: InstitutionType,
}

/// A bank's balance for one quarter (the latest version of its report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceReport {
    /// Bank.
    pub bank_id: String,
    /// Quarter.
    pub period: Quarter,
    /// 普惠小微 balance at quarter end.
    pub balance: Yuan,
    /// Report version (1 = first).
    pub version: u32,
    /// Exclusions, when computed from a loan snapshot.
    pub excluded: Vec<Excluded>,
}

/// One bank's line of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    /// Bank.
    pub bank_id: String,
    /// Name.
    pub bank_name: String,
    /// Institution type.
    pub institution_type: InstitutionType,
    /// Balance at the previous quarter end.
    pub previous_balance: Option<Yuan>,
    /// Balance at the quarter end.
    pub balance: Option<Yuan>,
    /// balance − previous.
    #[serde(with = "crate::kernel::money::opt_signed_serde")]
    pub increment: Option<Yuan>,
    /// Rate applied.
    #[serde(with = "crate::kernel::money::rate_serde")]
    pub rate: Decimal,
    /// Incentive before any budget scaling.
    pub incentive_before_budget: Yuan,
    /// Incentive (after budget scaling).
    pub incentive: Yuan,
    /// Incentive of the previous statement version, when recomputed.
    pub previously_stated: Option<Yuan>,
    /// incentive − previously stated.
    #[serde(with = "crate::kernel::money::opt_signed_serde")]
    pub adjustment: Option<Yuan>,
    /// Exclusions of the snapshot behind the balance.
    pub excluded: Vec<Excluded>,
    /// Why this line pays nothing or is in error (Chinese), if so.
    pub note: String,
    /// True when the line could not be computed (e.g. a missing quarter).
    pub error: bool,
}

/// A statement for one quarter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Quarter.
    pub period: Quarter,
    /// Statement version (1 = first computation).
    pub version: u32,
    /// Rate of the quarter.
    #[serde(with = "crate::kernel::money::rate_serde")]
    pub rate: Decimal,
    /// Budget, when one was given.
    pub budget: Option<Yuan>,
    /// Whether incentives were scaled down to the budget.
    pub scaled: bool,
    /// One line per bank.
    pub lines: Vec<StatementLine>,
    /// Total incentive.
    pub total: Yuan,
}

/// Scales `amounts` (fen-exact) pro rata so they sum to `budget` exactly:
/// each gets ⌊a·B/T⌋ to the fen, and the fen left over go one each to the
/// largest remainders (ties by position).
pub fn scale_to_budget(amounts: &[Yuan], budget: Yuan) -> Vec<Yuan> {
    let total: Decimal = amounts.iter().map(|a| a.0).sum();
    if total <= budget.0 || total.is_zero() {
        return amounts.to_vec();
    }
    let hundred = Decimal::from(100);
    let exact: Vec<Decimal> = amounts
        .iter()
        .map(|a| a.0 * hundred * budget.0 / total)
        .collect();
    let mut fens: Vec<Decimal> = exact.iter().map(|e| e.floor()).collect();
    let target = (budget.0 * hundred).round();
    let mut left = target - fens.iter().sum::<Decimal>();
    let mut order: Vec<usize> = (0..amounts.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - fens[b])
            .cmp(&(exact[a] - fens[a]))
            .then(a.cmp(&b))
    });
    let mut i = 0;
    while left > Decimal::ZERO && !order.is_empty() {
        fens[order[i % order.len()]] += Decimal::ONE;
        left -= Decimal::ONE;
        i += 1;
    }
    fens.into_iter().map(|f| Yuan(f / hundred)).collect()
}

#[cfg(test)]
mod tests;
