//! The three rates month by month, charted on the server as SVG bars: the
//! public board and the periodic reports draw the same chart, with the same
//! figures as a table beside it (`chart.html`); and the rates of places or
//! property companies side by side (`compare.html`).

use crate::app::lists::{Figures, Rate};

use super::Page;

/// One bar, laid out on the server.
#[derive(Debug)]
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub height: u32,
    pub fill: &'static str,
    pub label: String,
}

/// A chart of the three rates: bars, month labels, and the figures as a
/// table.
#[derive(Debug, Default)]
pub struct Chart {
    pub bars: Vec<Bar>,
    /// Each month's label: its centre, `MM`, and the year where shown.
    pub months: Vec<(u32, String, Option<String>)>,
    /// Month, then the three rates as text.
    pub table: Vec<(String, [String; 3])>,
}

/// The three rates charted, with their colours (distinguishable without
/// colour too: each bar is labelled in its `<title>`, and the table says it
/// all again).
pub const CHARTED: [(&str, &str); 3] = [
    ("board.response_rate", "#1f5f99"),
    ("board.resolution_rate", "#2c7a3f"),
    ("board.satisfaction_rate", "#a4161a"),
];

/// A rate in whole percent, when anything counts.
pub fn percent(rate: &Rate) -> Option<u32> {
    rate.rate.map(|r| (r * 100.0).round() as u32)
}

impl Chart {
    /// The chart of up to six months, oldest first: `(year, month, figures)`.
    pub fn of(page: &Page, months: &[(i32, u32, Figures)]) -> Chart {
        let mut chart = Chart::default();
        let colon = page.t("punct.colon");
        let shown = |rate: &Rate| percent(rate).map_or("–".to_owned(), |p| format!("{p}%"));
        for (slot, (year, month, f)) in months.iter().enumerate() {
            let slot = slot as u32;
            let x0 = 96 + slot * 84;
            // The month under its bars; the year under the first and under January.
            let year_shown = (slot == 0 || *month == 1).then(|| year.to_string());
            chart
                .months
                .push((x0 + 35, format!("{month:02}"), year_shown));
            let rates = [&f.response_rate, &f.resolution_rate, &f.satisfaction_rate];
            chart.table.push((
                format!("{year}-{month:02}"),
                [shown(rates[0]), shown(rates[1]), shown(rates[2])],
            ));
            for (i, ((key, fill), rate)) in CHARTED.iter().zip(rates).enumerate() {
                let height = percent(rate).unwrap_or(0) * 2;
                chart.bars.push(Bar {
                    x: x0 + i as u32 * 24,
                    y: 220 - height,
                    height,
                    fill,
                    label: format!("{year}-{month:02} {}{colon}{}", page.t(key), shown(rate)),
                });
            }
        }
        chart
    }
}

/// A place's figures in a comparison: name, filed, the three rates.
#[derive(Debug)]
pub struct Compared {
    pub name: String,
    pub filed: u64,
    pub rates: [String; 3],
}

pub fn compared(rows: &[(String, Figures)]) -> Vec<Compared> {
    let shown = |r| percent(r).map_or("–".to_owned(), |p| format!("{p}%"));
    rows.iter()
        .map(|(name, f)| Compared {
            name: name.clone(),
            filed: f.filed,
            rates: [
                shown(&f.response_rate),
                shown(&f.resolution_rate),
                shown(&f.satisfaction_rate),
            ],
        })
        .collect()
}
