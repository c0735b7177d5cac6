//! Cursor paging of lists kept in memory after a visibility filter (joint
//! meetings, mediation cases), with the same `limit` bounds and opaque
//! `cursor` as the grievance list. Items are sorted newest first by an
//! instant and an id; the cursor names the last item of a page.

use chrono::{DateTime, Utc};
use lianxi_projections::grievance_list::Cursor;
use uuid::Uuid;

use super::error::ApiError;

/// A page size within 1..=MAX_PAGE, or a 400 naming `limit`.
pub fn page_limit(limit: Option<u32>, default: u32) -> Result<i64, ApiError> {
    let limit = i64::from(limit.unwrap_or(default));
    if (1..=i64::from(MAX_PAGE)).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::bad_query(
            "limit",
            &format!("must be between 1 and {MAX_PAGE}"),
        ))
    }
}

/// The lists' default page size.
pub const DEFAULT_PAGE: u32 = 50;
/// The largest page a list gives.
pub const MAX_PAGE: u32 = 200;

/// A `cursor` query parameter, or a 400 naming it.
pub fn cursor(text: Option<&str>) -> Result<Option<Cursor>, ApiError> {
    text.map(|c| {
        Cursor::decode(c)
            .ok_or_else(|| ApiError::bad_query("cursor", "is not a cursor this service issued"))
    })
    .transpose()
}

/// The page of `items` (sorted by `key`, newest first) after `after`, at
/// most `limit` long, and the cursor of the next page when there is one.
pub fn page<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> (DateTime<Utc>, Uuid),
    after: Option<Cursor>,
    limit: i64,
) -> (Vec<T>, Option<String>) {
    items.sort_by_key(|i| std::cmp::Reverse(key(i)));
    if let Some(after) = after {
        let bound = (after.filed_at, after.id);
        items.retain(|i| key(i) < bound);
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next = (items.len() > limit).then(|| {
        let (at, id) = key(&items[limit - 1]);
        Cursor { filed_at: at, id }.encode()
    });
    items.truncate(limit);
    (items, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn pages_follow_each_other_without_gaps_or_repeats() {
        let at = |h: u32| {
            Utc.with_ymd_and_hms(2026, 11, 1, h, 0, 0)
                .single()
                .expect("instant")
        };
        let items: Vec<(DateTime<Utc>, Uuid)> = (0..7)
            .map(|i| (at(i % 3), Uuid::from_u128(u128::from(i) + 1)))
            .collect();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let (page, next) = page(items.clone(), |i| *i, after, 3);
            assert!(page.len() <= 3);
            seen.extend(page);
            match next {
                Some(c) => after = Cursor::decode(&c),
                None => break,
            }
        }
        let mut expected = items.clone();
        expected.sort_by(|a, b| b.cmp(a));
        assert_eq!(seen, expected);
    }
}
