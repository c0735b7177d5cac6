//! The strings of the pages and the ledgers, from
//! `gateway/locales/{zh,en}.toml` (embedded in the binary). Chinese is the
//! default; every key is in both files (a test checks), and a missing key
//! shows as the key itself, never as nothing.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The languages of the pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

const ZH: &str = include_str!("../../locales/zh.toml");
const EN: &str = include_str!("../../locales/en.toml");

/// The `[strings]` table of a locale file.
pub fn parse(text: &str) -> Result<HashMap<String, String>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let strings = table
        .get("strings")
        .and_then(|s| s.as_table())
        .ok_or("no [strings] table")?;
    strings
        .iter()
        .map(|(k, v)| {
            v.as_str()
                .map(|s| (k.clone(), s.to_owned()))
                .ok_or_else(|| format!("{k} is not a string"))
        })
        .collect()
}

fn table(lang: Lang) -> &'static HashMap<String, String> {
    static TABLES: OnceLock<[HashMap<String, String>; 2]> = OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        // The files are part of the binary and checked by tests.
        [parse(ZH).unwrap_or_default(), parse(EN).unwrap_or_default()]
    });
    match lang {
        Lang::Zh => &tables[0],
        Lang::En => &tables[1],
    }
}

/// The string of `key` in `lang`; the key itself when missing.
pub fn t(lang: Lang, key: &str) -> String {
    table(lang)
        .get(key)
        .cloned()
        .unwrap_or_else(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_every_key_and_no_empty_string() {
        let zh = parse(ZH).expect("zh.toml");
        let en = parse(EN).expect("en.toml");
        let mut missing: Vec<String> = zh
            .keys()
            .filter(|k| !en.contains_key(*k))
            .map(|k| format!("en lacks {k}"))
            .chain(
                en.keys()
                    .filter(|k| !zh.contains_key(*k))
                    .map(|k| format!("zh lacks {k}")),
            )
            .collect();
        missing.extend(
            zh.iter()
                .chain(en.iter())
                .filter(|(_, v)| v.trim().is_empty())
                .map(|(k, _)| format!("{k} is empty")),
        );
        missing.sort();
        assert!(missing.is_empty(), "{missing:?}");
        assert_ne!(zh.get("login.title"), en.get("login.title"));
    }

    /// Chinese text takes full-width punctuation: `反映？`, `议程：`, not
    /// `反映?`, `议程:` (times such as 09:30 keep their colon).
    #[test]
    fn chinese_strings_use_full_width_punctuation() {
        let zh = parse(ZH).expect("zh.toml");
        let han = |c: Option<char>| c.is_some_and(|c| ('\u{3000}'..='\u{9fff}').contains(&c));
        let mut wrong: Vec<String> = zh
            .iter()
            .filter(|(_, v)| {
                let chars: Vec<char> = v.chars().collect();
                chars.iter().enumerate().any(|(i, c)| {
                    ":,?!;()".contains(*c)
                        && (han(i.checked_sub(1).map(|p| chars[p]))
                            || han(chars.get(i + 1).copied()))
                })
            })
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        wrong.sort();
        assert!(
            wrong.is_empty(),
            "half-width punctuation beside Chinese: {wrong:?}"
        );
        assert_eq!(t(Lang::Zh, "punct.colon"), "：");
    }
}
