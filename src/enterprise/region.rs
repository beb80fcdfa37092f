//! Names of Jiangxi's administrative areas (GB/T 2260), for officers: the
//! province, its eleven prefecture-level cities, and the districts and
//! counties smefin has met in registries. A code not listed is shown under
//! its city's name with the code beside it.

/// (code, name) of the province and its prefecture-level cities.
const CITIES: &[(&str, &str)] = &[
    ("36", "江西省"),
    ("3601", "南昌市"),
    ("3602", "景德镇市"),
    ("3603", "萍乡市"),
    ("3604", "九江市"),
    ("3605", "新余市"),
    ("3606", "鹰潭市"),
    ("3607", "赣州市"),
    ("3608", "吉安市"),
    ("3609", "宜春市"),
    ("3610", "抚州市"),
    ("3611", "上饶市"),
];

/// (code, name) of districts and counties.
const COUNTIES: &[(&str, &str)] = &[
    ("360102", "东湖区"),
    ("360103", "西湖区"),
    ("360104", "青云谱区"),
    ("360111", "青山湖区"),
    ("360112", "新建区"),
    ("360113", "红谷滩区"),
    ("360121", "南昌县"),
    ("360123", "安义县"),
    ("360124", "进贤县"),
    ("360202", "昌江区"),
    ("360203", "珠山区"),
    ("360302", "安源区"),
    ("360402", "濂溪区"),
    ("360403", "浔阳区"),
    ("360404", "柴桑区"),
    ("360502", "渝水区"),
    ("360602", "月湖区"),
    ("360702", "章贡区"),
    ("360703", "南康区"),
    ("360704", "赣县区"),
    ("360802", "吉州区"),
    ("360803", "青原区"),
    ("360902", "袁州区"),
    ("361002", "临川区"),
    ("361102", "信州区"),
    ("361103", "广丰区"),
    ("361104", "广信区"),
];

fn find(table: &[(&str, &'static str)], code: &str) -> Option<&'static str> {
    table.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The name of an area code smefin knows: a city by its 4 digits, a
/// district or county by its 6, the province by 2.
pub fn name(code: &str) -> Option<&'static str> {
    match code.len() {
        2 | 4 => find(CITIES, code),
        6 => find(COUNTIES, code),
        _ => None,
    }
}

/// An area as an officer reads it: `南昌市`, `东湖区（南昌市）`; a county
/// not listed as `南昌市 360199`; outside Jiangxi, the code.
pub fn describe(code: &str) -> String {
    if let Some(n) = name(code) {
        return match code
            .get(..4)
            .and_then(|c| (code.len() == 6).then(|| name(c)).flatten())
        {
            Some(city) => format!("{n}（{city}）"),
            None => n.to_string(),
        };
    }
    match code.get(..4).and_then(name) {
        Some(city) => format!("{city} {code}"),
        None => code.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_are_named_with_their_city() {
        assert_eq!(describe("3601"), "南昌市");
        assert_eq!(describe("360102"), "东湖区（南昌市）");
        assert_eq!(describe("360402"), "濂溪区（九江市）");
        assert_eq!(describe("360199"), "南昌市 360199");
        assert_eq!(describe("4403"), "4403");
        assert_eq!(describe("36"), "江西省");
        // every county lies in a listed city
        for (c, _) in COUNTIES {
            assert!(name(&c[..4]).is_some(), "{c}");
        }
    }
}
