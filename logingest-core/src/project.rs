//! What a record search with `| fields a, b` returns for each record: only
//! the listed fields, by their dotted paths, in the order listed.
//!
//! Records are kept exactly as sent, so the values come from the record's
//! JSON itself (a number stays a number, an object stays whole). A path
//! is read as keyword paths are (`docs/query-language.md`): keys joined by
//! dots, a key that holds dots itself included, and through arrays, each
//! element (`items.name` of `[{"name":"a"},{"name":"b"}]` is `["a","b"]`).

use serde_json::Value;

use crate::error::{Error, Result};

/// The listed `fields` of the record `source`, each with its value: the
/// value at the path, or an array of the values when the path crosses
/// arrays to several. A field the record lacks is left out.
pub fn project(source: &str, fields: &[String]) -> Result<Vec<(String, Value)>> {
    let record: Value = serde_json::from_str(source)
        .map_err(|e| Error::backend_msg(false, format!("stored record is not JSON: {e}")))?;
    Ok(fields
        .iter()
        .filter_map(|field| {
            let mut found = Vec::new();
            values_at(&record, field, &mut found);
            let value = match found.len() {
                0 => return None,
                1 => found.remove(0).clone(),
                _ => Value::Array(found.into_iter().cloned().collect()),
            };
            Some((field.clone(), value))
        })
        .collect())
}

/// Collects the values at `path` below `value`.
fn values_at<'v>(value: &'v Value, path: &str, found: &mut Vec<&'v Value>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                if key == path {
                    found.push(child);
                } else if let Some(rest) = path
                    .strip_prefix(key.as_str())
                    .and_then(|rest| rest.strip_prefix('.'))
                {
                    values_at(child, rest, found);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                values_at(item, path, found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::project;

    fn fields(list: &[&str]) -> Vec<String> {
        list.iter().map(|f| (*f).to_owned()).collect()
    }

    #[test]
    fn listed_fields_in_order() {
        let source = r#"{"message":"m","level":"error","timestamp":"2023-09-15T08:00:00Z","metadata":{"http":{"status":500},"tags":["a","b"],"a.b":1,"items":[{"name":"x"},{"name":"y"},{"other":1}]}}"#;
        let got = project(
            source,
            &fields(&[
                "metadata.http.status",
                "message",
                "missing",
                "metadata.tags",
                "metadata.a.b",
                "metadata.items.name",
                "metadata.http",
            ]),
        )
        .unwrap();
        let want = vec![
            ("metadata.http.status".to_owned(), json!(500)),
            ("message".to_owned(), json!("m")),
            ("metadata.tags".to_owned(), json!(["a", "b"])),
            ("metadata.a.b".to_owned(), json!(1)),
            ("metadata.items.name".to_owned(), json!(["x", "y"])),
            ("metadata.http".to_owned(), json!({"status": 500})),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn a_stored_record_that_is_not_json_is_an_error() {
        assert!(project("{", &fields(&["a"])).is_err());
    }
}
