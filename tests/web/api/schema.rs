//! The part of JSON Schema the OpenAPI document uses, checked against live answers: `$ref`,
//! `type` (one or a list, `null` among them), `enum`, `required`, `properties`,
//! `additionalProperties: false`, `items`, `oneOf`, `minimum`, `maximum`, `pattern` (only
//! `^[0-9a-f]{N}$`) and `format: date-time`. Anything else in a schema fails the check, so
//! the document never says more than is verified.

use serde_json::Value;

/// Where each problem is: `$.runs[0].status: "done" is not one of [...]`.
pub fn validate(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check(doc, schema, value, "$", &mut problems);
    problems
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').expect("a local reference");
    doc.pointer(pointer)
        .unwrap_or_else(|| panic!("{reference} is in the document"))
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

const KNOWN: [&str; 16] = [
    "$ref",
    "type",
    "enum",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "oneOf",
    "minimum",
    "maximum",
    "pattern",
    "format",
    "description",
    "default",
    "title",
    "example",
];

fn check(doc: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    let schema = schema.as_object().expect("a schema is an object");
    for key in schema.keys() {
        assert!(
            KNOWN.contains(&key.as_str()),
            "{at}: unchecked keyword {key}"
        );
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        check(doc, resolve(doc, reference), value, at, problems);
        return;
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = options
            .iter()
            .filter(|option| validate(doc, option, value).is_empty())
            .count();
        if matching != 1 {
            problems.push(format!("{at}: matches {matching} of oneOf, not 1: {value}"));
        }
    }
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            other => panic!("{at}: type {other}"),
        };
        let actual = type_of(value);
        let fits =
            allowed.contains(&actual) || (actual == "integer" && allowed.contains(&"number"));
        if !fits {
            problems.push(format!("{at}: {actual} is not {allowed:?}: {value}"));
            return;
        }
    }
    if let Some(choices) = schema.get("enum").and_then(Value::as_array)
        && !choices.contains(value)
    {
        problems.push(format!("{at}: {value} is not one of {choices:?}"));
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) && n < min
    {
        problems.push(format!("{at}: {n} < {min}"));
    }
    if let (Some(max), Some(n)) = (
        schema.get("maximum").and_then(Value::as_f64),
        value.as_f64(),
    ) && n > max
    {
        problems.push(format!("{at}: {n} > {max}"));
    }
    if let Some(text) = value.as_str() {
        if schema.get("format").and_then(Value::as_str) == Some("date-time")
            && chrono::DateTime::parse_from_rfc3339(text).is_err()
        {
            problems.push(format!("{at}: {text:?} is not a date-time"));
        }
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
            let length: usize = pattern
                .strip_prefix("^[0-9a-f]{")
                .and_then(|rest| rest.strip_suffix("}$"))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{at}: unchecked pattern {pattern}"));
            let fits = text.len() == length
                && text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !fits {
                problems.push(format!("{at}: {text:?} does not match {pattern}"));
            }
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !object.contains_key(name) {
                problems.push(format!("{at}: {name} is missing"));
            }
        }
        for (name, item) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(property) => check(doc, property, item, &format!("{at}.{name}"), problems),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    problems.push(format!("{at}: {name} is not documented"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (index, item) in array.iter().enumerate() {
            check(doc, items, item, &format!("{at}[{index}]"), problems);
        }
    }
}

#[test]
fn the_checker_finds_what_does_not_conform() {
    let doc = serde_json::json!({"components": {"schemas": {"N": {"type": ["integer", "null"]}}}});
    let schema = serde_json::json!({
        "type": "object", "additionalProperties": false, "required": ["a", "b"],
        "properties": {
            "a": {"type": "string", "enum": ["x", "y"]},
            "b": {"$ref": "#/components/schemas/N"},
            "c": {"type": "array", "items": {"type": "string", "format": "date-time"}},
            "d": {"oneOf": [{"type": "null"}, {"type": "integer", "minimum": 1}]}
        }
    });
    let ok = serde_json::json!({"a": "x", "b": null, "c": ["2026-11-01T02:00:00Z"], "d": 3});
    assert!(validate(&doc, &schema, &ok).is_empty());
    for bad in [
        serde_json::json!({"a": "z", "b": 1}),
        serde_json::json!({"a": "x"}),
        serde_json::json!({"a": "x", "b": "1"}),
        serde_json::json!({"a": "x", "b": 1, "e": 0}),
        serde_json::json!({"a": "x", "b": 1, "c": ["yesterday"]}),
        serde_json::json!({"a": "x", "b": 1, "d": 0}),
        serde_json::json!([]),
    ] {
        assert!(!validate(&doc, &schema, &bad).is_empty(), "{bad}");
    }
}
