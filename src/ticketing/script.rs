//! What scripted steps and expectations share: names (`{CZQ}`) resolved to the ids the
//! run gave the records, made-up ids that can never collide with a generated one
//! (`{unknown}`, `{unknown:x}`, `{id:x}`), and matching an expected JSON value against an actual
//! one, naming the field, the expected and the actual value when they differ.

use super::domain::Id;
use serde_json::Value;

/// The id `{unknown:label}` stands for: `Z` and a hash of the label. Generated ids
/// start with another letter (`T`, `O`, `P`, `X`, `R`, `ch_`), so it is never one of them.
pub fn unknown_id(label: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("Z{hash:016x}")
}

/// The names a text refers to, `{NAME}`, in order (not `{unknown...}` nor `{any}`).
pub fn references(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else { break };
        let name = &rest[open + 1..open + close];
        let made_up = name == "unknown" || name.starts_with("unknown:") || name.starts_with("id:");
        if !name.is_empty() && name != "any" && name != "none" && !made_up && !name.contains(['{', '"', ' ']) {
            names.push(name);
        }
        rest = &rest[open + close + 1..];
    }
    names
}

/// Every string in a value (its keys left out): where names are written.
pub fn strings(value: &toml::Value) -> Vec<&str> {
    match value {
        toml::Value::String(s) => vec![s.as_str()],
        toml::Value::Array(items) => items.iter().flat_map(strings).collect(),
        toml::Value::Table(fields) => fields.values().flat_map(strings).collect(),
        _ => vec![],
    }
}

/// Replaces every `{NAME}` with the id bound to it and every `{unknown...}` with an
/// unknown id; `{any}` and `{none}` stay (they are for expectations). Fails on a name not bound yet.
pub fn resolve(text: &str, names: &dyn Fn(&str) -> Option<Id>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else { break };
        out.push_str(&rest[..open]);
        let name = &rest[open + 1..open + close];
        match name {
            "any" | "none" => out.push_str(&rest[open..open + close + 1]),
            "unknown" => out.push_str(&unknown_id("")),
            _ if name.starts_with("unknown:") => out.push_str(&unknown_id(&name["unknown:".len()..])),
            // A made-up id the script gives a record it publishes itself: the same form.
            _ if name.starts_with("id:") => out.push_str(&unknown_id(&name["id:".len()..])),
            _ if references(&rest[open..open + close + 1]).is_empty() => out.push_str(&rest[open..open + close + 1]),
            _ => out.push_str(&names(name).ok_or_else(|| format!("{{{name}}} names no record yet"))?),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// [`resolve`] in every string of a JSON value (keys stay as written).
pub fn resolve_json(value: &Value, names: &dyn Fn(&str) -> Option<Id>) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => Value::String(resolve(s, names)?),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve_json(v, names)).collect::<Result<_, _>>()?),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), resolve_json(v, names)?))).collect::<Result<_, String>>()?)
        }
        other => other.clone(),
    })
}

/// Whether `actual` has what `expected` says, at `path`: objects need every expected
/// key (others may be there), arrays the same length and each item, numbers the same
/// value, `"{any}"` anything but null or absent, `"{none}"` null or absent (a field
/// the record does not have, as Jest's `not.toBeDefined()`). Each difference is a problem naming
/// the path, the expected and the actual value.
pub fn matches(expected: &Value, actual: Option<&Value>, path: &str, problems: &mut Vec<String>) {
    let show = |v: Option<&Value>| v.map_or("nothing".to_string(), |v| v.to_string());
    match (expected, actual) {
        (Value::String(s), Some(a)) if s == "{any}" && !a.is_null() => {}
        (Value::String(s), None | Some(Value::Null)) if s == "{none}" => {}
        (Value::String(s), Some(a)) if s == "{none}" => problems.push(format!("{path}: expected none, got {a}")),
        (Value::Object(fields), Some(Value::Object(got))) => {
            for (key, value) in fields {
                matches(value, got.get(key), &format!("{path}.{key}"), problems);
            }
        }
        (Value::Array(items), Some(Value::Array(got))) => {
            if items.len() != got.len() {
                problems.push(format!("{path}: expected {} items, got {}", items.len(), got.len()));
            }
            for (i, (e, a)) in items.iter().zip(got).enumerate() {
                matches(e, Some(a), &format!("{path}[{i}]"), problems);
            }
        }
        (Value::Number(e), Some(Value::Number(a))) if e.as_f64() == a.as_f64() => {}
        (e, a) if Some(e) == a => {}
        (e, a) => problems.push(format!("{path}: expected {e}, got {}", show(a))),
    }
}

/// A TOML value as JSON (tables become objects).
pub fn json_of(value: &toml::Value) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(name: &str) -> Option<Id> {
        (name == "CZQ").then(|| "T1".into())
    }

    #[test]
    fn names_resolve_and_unknown_ids_never_look_generated() {
        assert_eq!(resolve("/api/tickets/{CZQ}", &names).unwrap(), "/api/tickets/T1");
        let unknown = resolve("/api/tickets/{unknown:ghost}", &names).unwrap();
        assert!(unknown.starts_with("/api/tickets/Z") && unknown.len() == "/api/tickets/".len() + 17, "{unknown}");
        assert_ne!(unknown_id("a"), unknown_id("b"));
        assert_eq!(resolve("{nope}", &names).unwrap_err(), "{nope} names no record yet");
        assert_eq!(resolve("a {b c} {any}", &names).unwrap(), "a {b c} {any}");
        assert_eq!(references("{CZQ} and {ADS} and {unknown} {any} {id:t1}"), vec!["CZQ", "ADS"]);
        assert_eq!(resolve("{id:t1}", &names).unwrap(), unknown_id("t1"));
    }

    #[test]
    fn matching_names_the_field_the_expected_and_the_actual_value() {
        let actual = json!({"id": "T1", "price": 20.0, "title": "concert", "ticket": {"id": "T1"}, "list": [1, 2]});
        let mut problems = Vec::new();
        matches(&json!({"price": 20, "id": "{any}", "ticket": {"id": "T1"}}), Some(&actual), "body", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        matches(&json!({"price": 30, "orderId": "O1", "list": [1]}), Some(&actual), "body", &mut problems);
        assert_eq!(
            problems,
            vec!["body.list: expected 1 items, got 2", "body.orderId: expected \"O1\", got nothing", "body.price: expected 30, got 20.0"]
        );
        let mut problems = Vec::new();
        matches(&json!({"orderId": "{none}", "gone": "{none}"}), Some(&json!({"orderId": null})), "ticket", &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        matches(&json!({"id": "{none}"}), Some(&actual), "ticket", &mut problems);
        assert_eq!(problems, vec!["ticket.id: expected none, got \"T1\""]);
        assert_eq!(resolve("{none}", &names).unwrap(), "{none}");
        assert!(references("{none}").is_empty());
    }
}
