//! Likely duplicates: open grievances of the filer's xiaoqu that look like
//! the one being filed, shown before it is submitted so that one matter is
//! filed once. Scored on the titles' character pairs (Chinese titles have
//! no spaces) and the building.

use chrono::{DateTime, Utc};
use lianxi_domain::values::{AccountId, GrievanceId};
use lianxi_domain::Status;
use lianxi_projections::grievance_list::{self, Audience, ListFilter};

use super::auth::Caller;
use super::people::PersonalView;
use super::AppState;
use crate::db::Scope;

/// An open grievance of the filer's xiaoqu that looks like the one being
/// filed: shown before it is submitted, without anyone's personal data.
#[derive(Debug)]
pub struct Similar {
    pub id: GrievanceId,
    pub title: String,
    pub status: String,
    pub filed_at: DateTime<Utc>,
}

/// The title's overlapping character pairs: Chinese titles have no spaces,
/// so two titles about one matter share bigrams such as 电梯 or 停运.
fn bigrams(text: &str) -> std::collections::HashSet<(char, char)> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    chars.windows(2).map(|w| (w[0], w[1])).collect()
}

/// How alike two grievances look (0 to 1): the Jaccard index of their
/// titles' bigrams, raised when they name the same building.
pub fn likeness(title: &str, building: &str, other_title: &str, other_building: &str) -> f64 {
    let (a, b) = (bigrams(title), bigrams(other_title));
    let union = a.union(&b).count();
    let shared = a.intersection(&b).count();
    let titles = if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    };
    let same_building = !building.trim().is_empty() && building.trim() == other_building.trim();
    titles + if same_building { 0.15 } else { 0.0 }
}

/// Up to three open grievances of the caller's xiaoqu in `category` that
/// look like the one being filed (likeness at least 0.3), most alike first;
/// none for a caller whose scope is not one xiaoqu.
pub async fn likely(
    state: &AppState,
    caller: &Caller,
    category: &str,
    title: &str,
    building: &str,
) -> Vec<Similar> {
    let Scope::Xiaoqu(xiaoqu) = caller.0.scope else {
        return Vec::new();
    };
    let xiaoqu = xiaoqu.0;
    let filter = ListFilter {
        xiaoqu: Some(xiaoqu),
        category: Some(category.to_owned()),
        ..ListFilter::default()
    };
    let audience = Audience::Xiaoqu(xiaoqu);
    let page = match grievance_list::list(&state.db.store(), &audience, &filter, None, 200).await {
        Ok(page) => page,
        Err(e) => {
            // Suggestions are a courtesy: filing goes on without them.
            tracing::warn!(error = %e, "likely duplicates could not be read");
            return Vec::new();
        }
    };
    let mut scored: Vec<(f64, AccountId, Similar)> = page
        .items
        .into_iter()
        .filter(|(g, _)| !g.status.is_final() && g.status != Status::Resolved)
        .map(|(g, _)| {
            let other_building = g
                .location
                .building
                .as_ref()
                .map(|b| b.as_str().to_owned())
                .unwrap_or_default();
            let score = likeness(title, building, g.title.as_str(), &other_building);
            (
                score,
                g.filer,
                Similar {
                    id: g.id,
                    title: g.title.as_str().to_owned(),
                    status: g.status.as_str().to_owned(),
                    filed_at: g.filed_at,
                },
            )
        })
        .filter(|(score, _, _)| *score >= 0.3)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out = Vec::new();
    for (_, filer, mut similar) in scored.into_iter().take(3) {
        // Another resident's title may carry their name or phone: never shown.
        match state.people.personal_data(filer).await {
            Ok(PersonalView::Present(data)) => {
                for secret in [Some(data.name), data.phone, data.room]
                    .into_iter()
                    .flatten()
                {
                    if secret.chars().count() >= 2 {
                        similar.title = similar.title.replace(&secret, "＊＊＊");
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "a likely duplicate's filer could not be read");
                continue;
            }
        }
        out.push(similar);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_about_one_matter_look_alike_and_others_do_not() {
        let same = likeness("3栋电梯停运三天", "3栋", "3栋电梯又停运了", "3栋");
        let related = likeness("地下车库车位被占用", "", "地下车库公共车位被长期占用", "");
        let other = likeness("3栋电梯停运三天", "3栋", "广场舞噪音扰民", "5栋");
        assert!(same >= 0.3, "{same}");
        assert!(related >= 0.3, "{related}");
        assert!(other < 0.3, "{other}");
        assert_eq!(likeness("", "", "", ""), 0.0);
    }
}
