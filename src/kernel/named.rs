//! Named values: the `named_enum!` macro and the spelling helpers it uses.

/// `CamelCase` → `CAMEL_CASE`.
pub fn screaming_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// `lower` without the leading `type_name` in lower snake case and its `_`
/// (`certification_high_tech` of `Certification` → `high_tech`), or all of
/// `lower` when it does not start so.
pub fn strip_qualifier<'a>(lower: &'a str, type_name: &str) -> &'a str {
    let mut rest = lower.as_bytes();
    for (i, c) in type_name.bytes().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            match rest.split_first() {
                Some((b'_', r)) => rest = r,
                _ => return lower,
            }
        }
        match rest.split_first() {
            Some((&b, r)) if b == c.to_ascii_lowercase() => rest = r,
            _ => return lower,
        }
    }
    match rest.split_first() {
        // (all ASCII so far, so the index is a char boundary)
        Some((b'_', _)) => &lower[lower.len() - rest.len() + 1..],
        _ => lower,
    }
}

/// A closed set of named values: each variant with its snake_case code and
/// its Chinese name, parsed from either, serialised as the code.
macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident, { $($(#[$vm:meta])* $variant:ident = $code:literal, $zh:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $variant,)+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            /// The snake_case code used in JSON and the catalogue.
            pub fn code(self) -> &'static str { match self { $($name::$variant => $code,)+ } }
            /// The Chinese name.
            pub fn name_zh(self) -> &'static str { match self { $($name::$variant => $zh,)+ } }
            /// The code qualified by the type, upper case (`HighTech` of
            /// `Certification` is `CERTIFICATION_HIGH_TECH`): the spelling
            /// of suggestion targets, unambiguous across types.
            pub fn qualified_code(self) -> String {
                format!("{}_{}", $crate::kernel::named::screaming_snake(stringify!($name)), self.code().to_ascii_uppercase())
            }
            /// Parses the code (any case, bare or qualified as
            /// [`Self::qualified_code`] writes it) or the Chinese name.
            pub fn parse(s: &str) -> Option<$name> {
                let t = s.trim();
                let lower = t.to_ascii_lowercase();
                let bare = $crate::kernel::named::strip_qualifier(&lower, stringify!($name));
                $name::ALL.iter().copied().find(|v| v.code() == bare || v.name_zh() == t)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.code()) }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| serde::de::Error::custom(format!(
                    "unknown {} `{}` (expected one of: {})", stringify!($name), s,
                    $name::ALL.iter().map(|v| v.code()).collect::<Vec<_>>().join(", "))))
            }
        }
    };
}

pub(crate) use named_enum;
