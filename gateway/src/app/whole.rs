//! Whole numbers as JSON Schema counts them: `30` and `30.0` are the same
//! integer, in a JSON body or a query string. Fields the OpenAPI document
//! types `integer` deserialize with these, so that a client (or a generator
//! of schema-valid requests) writing `30.0` is not refused.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

struct Whole;

impl Visitor<'_> for Whole {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::custom("must not be negative"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        // 2^53: beyond it a float no longer names one whole number.
        if v.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&v) {
            Ok(v as u64)
        } else {
            Err(E::custom("must be a whole number"))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        let v = v.trim();
        match v.parse::<u64>() {
            Ok(n) => Ok(n),
            Err(_) => match v.parse::<f64>() {
                Ok(f) if f.is_finite() => self.visit_f64(f),
                _ => Err(E::custom("must be a whole number")),
            },
        }
    }
}

fn whole<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<T, D::Error> {
    let n = d.deserialize_any(Whole)?;
    T::try_from(n).map_err(|_| de::Error::custom("is too large"))
}

/// A required whole number.
pub fn required<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<T, D::Error> {
    whole(d)
}

/// An optional whole number (use with `#[serde(default)]`).
pub fn optional<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<Option<T>, D::Error> {
    struct Maybe<T>(std::marker::PhantomData<T>);
    impl<'de, T: TryFrom<u64>> Visitor<'de> for Maybe<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a whole number or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
            whole(d).map(Some)
        }
    }
    d.deserialize_option(Maybe(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::required")]
        size: u64,
        #[serde(default, deserialize_with = "super::optional")]
        days: Option<u32>,
    }

    #[test]
    fn integral_floats_and_numeric_strings_are_whole_numbers() {
        let b: Body = serde_json::from_str(r#"{"size": 30.0, "days": 7}"#).expect("json");
        assert_eq!((b.size, b.days), (30, Some(7)));
        let b: Body = serde_json::from_str(r#"{"size": 30, "days": null}"#).expect("json");
        assert_eq!((b.size, b.days), (30, None));
        let b: Body = serde_json::from_str(r#"{"size": 1}"#).expect("json");
        assert_eq!(b.days, None);
        let b: Body = serde_urlencoded::from_str("size=12.0&days=3").expect("query");
        assert_eq!((b.size, b.days), (12, Some(3)));
        for bad in [
            r#"{"size": 30.5}"#,
            r#"{"size": -1}"#,
            r#"{"size": "x"}"#,
            r#"{"size": 1, "days": 1e12}"#,
        ] {
            assert!(serde_json::from_str::<Body>(bad).is_err(), "{bad}");
        }
    }
}
