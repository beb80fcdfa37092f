//! What a suggestion asks of a firm, and what following it takes.

use serde::Serialize;

use crate::kernel::named_enum;

named_enum!(
    /// What following a suggestion takes. Advice to shrink (staff,
    /// revenue, assets), to move, or to change what a loan is for is never
    /// given: such a criterion states its reason instead.
    SuggestionKind, {
    /// A field the criterion needs is absent: supply it.
    SupplyInformation = "supply_information", "补充信息";
    /// Something the firm can do itself (register what it owns, clear
    /// arrears, offer collateral it has, hire).
    SimpleAction = "simple_action", "企业可自行办理";
    /// An application an authority decides (a certification, a tax
    /// evaluation): months, not a step.
    Application = "application", "需经主管部门认定或评价（以月计）";
    /// Time must pass (years since establishment).
    Wait = "wait", "时间届满后可申请";
});

named_enum!(
    /// What a suggestion asks of the firm. On the wire the action is the
    /// code upper-cased (`HIRE_MORE`); officers read the Chinese label.
    Action, {
    /// Supply an absent field.
    SupplyInformation = "supply_information", "补充信息";
    /// Hire more people from the programme's target groups.
    HireMore = "hire_more", "增加招用重点群体人员";
    /// Apply for a certification.
    ObtainCertification = "obtain_certification", "申报资质认定";
    /// Reach a tax credit grade at the next evaluation.
    ImproveTaxGrade = "improve_tax_grade", "提升纳税信用等级";
    /// Wait until the firm has existed long enough.
    WaitUntil = "wait_until", "待成立年限届满";
    /// Clear wage and social insurance arrears.
    ClearArrears = "clear_arrears", "清偿欠薪欠缴";
    /// Register intellectual property the firm owns.
    RegisterIp = "register_ip", "登记知识产权";
    /// Register receivables the firm has on the platform.
    RegisterReceivables = "register_receivables", "登记应收账款";
    /// Offer collateral the firm has (receivables, orders, receipts).
    OfferCollateral = "offer_collateral", "提供质押物";
});

impl Action {
    /// What following it takes.
    pub fn kind(self) -> SuggestionKind {
        match self {
            Action::SupplyInformation => SuggestionKind::SupplyInformation,
            Action::HireMore
            | Action::ClearArrears
            | Action::RegisterIp
            | Action::RegisterReceivables
            | Action::OfferCollateral => SuggestionKind::SimpleAction,
            Action::ObtainCertification | Action::ImproveTaxGrade => SuggestionKind::Application,
            Action::WaitUntil => SuggestionKind::Wait,
        }
    }

    /// The action as the wire spells it (`HIRE_MORE`).
    pub fn wire(self) -> String {
        self.code().to_ascii_uppercase()
    }
}

/// A suggestion: the smallest change that would make a criterion pass, or
/// the information that would decide it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// Criterion fixed.
    pub criterion_code: String,
    /// Action code (`HIRE_MORE`; see [`Action`]).
    pub action: String,
    /// What following it takes.
    pub kind: SuggestionKind,
    /// Profile field concerned.
    pub field: String,
    /// Target value.
    pub target: String,
    /// Chinese sentence.
    pub message: String,
}
