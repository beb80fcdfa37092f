//! GB/T 4754-2017 industry codes, and the row of 工信部联企业〔2011〕300号
//! each one is sized under.

use serde::Serialize;

use super::size::SizeIndustry;

/// Why an industry code cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndustryError {
    /// Not a GB/T 4754 code.
    #[error(
        "`{0}` is not a GB/T 4754-2017 code (a section letter A-T, optionally followed by 2-4 digits, e.g. \"C3562\")"
    )]
    Malformed(String),
    /// The industry is outside the 2011 standard: 金融业 (section J, 划型
    /// by its own standard), and 铁路运输业 (G53), which the standard names
    /// in order to exclude it ("交通运输业（不含铁路运输业）"), so it is not
    /// among the 其他未列明行业 either.
    #[error("{what} ({name_zh}) is outside 工信部联企业〔2011〕300号")]
    NotCovered {
        /// The section or division (`section J`, `G53`).
        what: &'static str,
        /// Its Chinese name.
        name_zh: &'static str,
    },
}

/// A validated GB/T 4754-2017 industry code: section letter plus 0, 2, 3 or 4
/// digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndustryCode(pub String);

impl IndustryCode {
    /// Parses and validates a code ("C", "C35", "C356", "C3562"); upper-cases.
    pub fn parse(s: &str) -> Result<IndustryCode, IndustryError> {
        let t = s.trim().to_ascii_uppercase();
        let b = t.as_bytes();
        let ok = !b.is_empty()
            && (b'A'..=b'T').contains(&b[0])
            && matches!(b.len(), 1 | 3 | 4 | 5)
            && b[1..].iter().all(u8::is_ascii_digit);
        if ok {
            Ok(IndustryCode(t))
        } else {
            Err(IndustryError::Malformed(s.to_string()))
        }
    }

    /// The section letter.
    pub fn section(&self) -> char {
        self.0.as_bytes()[0] as char
    }

    /// The 2-digit division, when given.
    pub fn division(&self) -> Option<u32> {
        self.0.get(1..3).and_then(|d| d.parse().ok())
    }

    /// Whether the code starts with `prefix` (e.g. "C", "C35", "K701").
    pub fn starts_with(&self, prefix: &str) -> bool {
        self.0.starts_with(prefix)
    }

    /// The 划型 row for this code. A section whose rows depend on the division
    /// (F, G, H, I, K) needs the division; without it the broadest reading is
    /// used for sections with a single dominant row, and an error otherwise.
    pub fn size_industry(&self) -> Result<SizeIndustry, IndustryError> {
        let div = self.division();
        Ok(match self.section() {
            'A' => SizeIndustry::Agriculture,
            'B' | 'C' | 'D' => SizeIndustry::Industry,
            'E' => SizeIndustry::Construction,
            'F' => match div {
                Some(51) => SizeIndustry::Wholesale,
                Some(52) => SizeIndustry::Retail,
                _ => {
                    return Err(IndustryError::Malformed(format!(
                        "{} (批发和零售业须给出大类 F51 批发 或 F52 零售)",
                        self.0
                    )));
                }
            },
            'G' => return self.transport_row(div),
            'H' => match div {
                Some(61) => SizeIndustry::Accommodation,
                Some(62) => SizeIndustry::Catering,
                _ => {
                    return Err(IndustryError::Malformed(format!(
                        "{} (住宿和餐饮业须给出大类 H61 或 H62)",
                        self.0
                    )));
                }
            },
            'I' => match div {
                Some(63) | Some(64) => SizeIndustry::InformationTransmission,
                Some(65) => SizeIndustry::Software,
                _ => {
                    return Err(IndustryError::Malformed(format!(
                        "{} (信息传输、软件和信息技术服务业须给出大类 I63–I65)",
                        self.0
                    )));
                }
            },
            'J' => {
                return Err(IndustryError::NotCovered {
                    what: "section J",
                    name_zh: "金融业",
                });
            }
            'K' => return self.real_estate_row(),
            'L' => SizeIndustry::LeasingBusinessServices,
            _ => SizeIndustry::Other,
        })
    }

    /// Section G's row: 300号's 交通运输业 is "不含铁路运输业" (G53); 装卸搬运
    /// (G591) is 交通运输业, and only the other groups of G59 (G592–G599)
    /// are 仓储业.
    fn transport_row(&self, div: Option<u32>) -> Result<SizeIndustry, IndustryError> {
        Ok(match div {
            Some(53) => {
                return Err(IndustryError::NotCovered {
                    what: "G53",
                    name_zh: "铁路运输业",
                });
            }
            Some(59) if self.starts_with("G591") => SizeIndustry::Transport,
            Some(59) if self.0.len() >= 4 => SizeIndustry::Warehousing,
            Some(59) => {
                return Err(IndustryError::Malformed(format!(
                    "{} (G59 须给出中类：G591 装卸搬运属交通运输业，G592–G599 属仓储业)",
                    self.0
                )));
            }
            Some(60) => SizeIndustry::Postal,
            Some(54..=58) => SizeIndustry::Transport,
            _ => {
                return Err(IndustryError::Malformed(format!(
                    "{} (交通运输、仓储和邮政业须给出大类 G53–G60)",
                    self.0
                )));
            }
        })
    }

    /// Section K's row: 房地产开发经营 (K701), 物业管理 (K702), the other
    /// groups 其他未列明行业; the group is needed.
    fn real_estate_row(&self) -> Result<SizeIndustry, IndustryError> {
        if self.starts_with("K701") {
            Ok(SizeIndustry::RealEstateDevelopment)
        } else if self.starts_with("K702") {
            Ok(SizeIndustry::PropertyManagement)
        } else if self.0.len() < 4 {
            Err(IndustryError::Malformed(format!(
                "{} (房地产业须给出中类 K701 开发经营、K702 物业管理 或其他中类)",
                self.0
            )))
        } else {
            Ok(SizeIndustry::Other)
        }
    }

    /// Whether the industry is culture or tourism: 文化、体育和娱乐业 (R86–R90
    /// excluding sport R89), 旅行社及相关服务 (L7291), 游览景区管理 (N786), and
    /// 住宿业 (H61) as tourism accommodation.
    pub fn is_cultural_tourism(&self) -> bool {
        let c = &self.0;
        (c.starts_with('R') && !c.starts_with("R89"))
            || c.starts_with("L7291")
            || c.starts_with("N786")
            || c.starts_with("H61")
    }
}
