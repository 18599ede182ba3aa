//! Keeps `schemas/openapi.json` honest. The routes are read from `router.rs`'s source (building
//! the router needs a whole daemon), each handler's signature from its module's source, and the
//! document must agree with them: the same (method, path) pairs, the same authentication, the
//! query parameters of the handler's `Query` struct (required exactly when the handler cannot
//! do without them), the fields of its `Json` body, its success status, the media types and
//! the component schema of its answer. Real answers, serialised from the
//! handlers' types, must validate against the component schemas and use no undeclared field.
//!
//! Layout: [`source`] reads `router.rs` and the handlers; [`samples`] builds the real answers;
//! this file holds the document's helpers and the tests.

mod samples;
mod source;

use std::collections::{BTreeMap, BTreeSet};

use axum::http::Uri;
use serde::de::{DeserializeOwned, Visitor};
use serde_json::{Value, json};

use super::{campaigns, conversations, events, lists, recipients, suppressions};
use source::{METHODS, Route, generic_argument, router_routes, signature};

const DOCUMENT: &str = super::router::OPENAPI;

fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("schemas/openapi.json is JSON")
}

/// The fields a `Deserialize` struct names (what serde's derive hands `deserialize_struct`).
fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Spy<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Spy<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(serde::de::Error::custom("seen"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Spy(&mut fields));
    fields
}

/// A request type: its fields, and whether a value parses as it.
struct Shape {
    fields: BTreeSet<&'static str>,
    from_json: fn(Value) -> bool,
    from_query: fn(&Uri) -> Result<(), String>,
}

fn shape<T: DeserializeOwned>() -> Shape {
    Shape {
        fields: fields_of::<T>().iter().copied().collect(),
        from_json: |value| serde_json::from_value::<T>(value).is_ok(),
        from_query: |uri| {
            axum::extract::Query::<T>::try_from_uri(uri)
                .map(drop)
                .map_err(|e| e.body_text())
        },
    }
}

/// The request type `type_name` of `handler`'s module (modules reuse names: `ListQuery`).
fn shape_of(handler: &str, type_name: &str) -> Shape {
    let module = handler
        .split_once("::")
        .map_or("router", |(module, _)| module);
    match (module, type_name) {
        ("campaigns", "ListQuery") => shape::<campaigns::ListQuery>(),
        ("campaigns", "CreateCampaign") => shape::<campaigns::CreateCampaign>(),
        ("campaigns", "EditCampaign") => shape::<campaigns::EditCampaign>(),
        ("campaigns", "ScheduleBody") => shape::<campaigns::ScheduleBody>(),
        ("campaigns", "DuplicateBody") => shape::<campaigns::DuplicateBody>(),
        ("lists", "UploadQuery") => shape::<lists::UploadQuery>(),
        ("lists", "ErrorsQuery") => shape::<lists::ErrorsQuery>(),
        ("recipients", "RecipientsQuery") => shape::<recipients::RecipientsQuery>(),
        ("recipients", "ActivityQuery") => shape::<recipients::ActivityQuery>(),
        ("events", "EventsQuery") => shape::<events::EventsQuery>(),
        ("preview", "PreviewQuery") => shape::<super::preview::PreviewQuery>(),
        ("conversations", "ListQuery") => shape::<conversations::ListQuery>(),
        ("conversations", "StartBody") => shape::<conversations::StartBody>(),
        ("conversations", "AgentBody") => shape::<conversations::AgentBody>(),
        ("conversations", "AssignBody") => shape::<conversations::AssignBody>(),
        ("conversations", "TextBody") => shape::<conversations::TextBody>(),
        ("suppressions", "ExportQuery") => shape::<suppressions::ExportQuery>(),
        ("suppressions", "AddBody") => shape::<suppressions::AddBody>(),
        ("suppressions", "ImportQuery") => shape::<suppressions::ImportQuery>(),
        ("suppressions", "RemoveQuery") => shape::<suppressions::RemoveQuery>(),
        other => panic!("teach openapi_check's shape_of about {other:?}"),
    }
}

// ----------------------------------------------------------------------- the document

/// Follows `$ref`s within the document.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(pointer) => resolve(
            doc,
            pointer
                .strip_prefix('#')
                .and_then(|p| doc.pointer(p))
                .unwrap_or_else(|| panic!("$ref {pointer} resolves to nothing")),
        ),
        None => schema,
    }
}

/// Every (method, path) operation of the document.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            if METHODS.contains(&method.as_str()) {
                out.push((method.clone(), path.clone(), operation));
            }
        }
    }
    out
}

/// An operation's parameters with the path item's, resolved.
fn parameters<'a>(doc: &'a Value, path: &str, operation: &'a Value) -> Vec<&'a Value> {
    let shared = doc["paths"][path]["parameters"].as_array();
    let own = operation["parameters"].as_array();
    shared
        .into_iter()
        .chain(own)
        .flatten()
        .map(|p| resolve(doc, p))
        .collect()
}

/// A value of a parameter's schema, as query text.
fn sample(schema: &Value) -> String {
    let value = schema["examples"]
        .get(0)
        .or_else(|| schema["enum"].get(0))
        .or_else(|| schema.get("default"))
        .cloned()
        .unwrap_or_else(
            || match (schema["type"].as_str(), schema["format"].as_str()) {
                (Some("integer"), _) => json!(1),
                (Some("boolean"), _) => json!(true),
                (_, Some("date-time")) => json!("2026-12-07T15:00:00Z"),
                _ => json!("x"),
            },
        );
    let text = match value {
        Value::String(s) => s,
        other => other.to_string(),
    };
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b':' | b',' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn compile(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let root = json!({ "allOf": [schema], "components": doc["components"] });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("schema {schema} does not compile: {e}"))
}

/// Keys of `value`, at any depth, that `schema` does not declare.
fn undeclared(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    let open = schema.as_object().is_none_or(|s| {
        [
            "type",
            "properties",
            "items",
            "allOf",
            "anyOf",
            "oneOf",
            "additionalProperties",
        ]
        .iter()
        .all(|k| !s.contains_key(*k))
    });
    if open {
        return;
    }
    match value {
        Value::Object(map) => {
            let mut declared = BTreeMap::new();
            let mut others = None;
            collect_properties(doc, schema, value, &mut declared, &mut others);
            for (key, item) in map {
                match declared.get(key.as_str()).copied().or(others) {
                    Some(sub) => undeclared(doc, sub, item, &format!("{at}.{key}"), out),
                    None => out.push(format!("{at}.{key}")),
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    undeclared(doc, sub, item, &format!("{at}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// The schema `true`.
static ANYTHING: Value = Value::Bool(true);

fn collect_properties<'a>(
    doc: &'a Value,
    schema: &'a Value,
    value: &Value,
    declared: &mut BTreeMap<&'a str, &'a Value>,
    others: &mut Option<&'a Value>,
) {
    let schema = resolve(doc, schema);
    for (key, sub) in schema["properties"].as_object().into_iter().flatten() {
        declared.insert(key, sub);
    }
    match schema.get("additionalProperties") {
        Some(Value::Bool(true)) => *others = Some(&ANYTHING),
        Some(sub @ Value::Object(_)) => *others = Some(sub),
        _ => {}
    }
    let branches = ["allOf", "anyOf", "oneOf"]
        .iter()
        .filter_map(|k| schema[*k].as_array())
        .flatten()
        .map(|branch| resolve(doc, branch));
    // A branch counts when the value has each constant it names (`type`, `kind`, `by`...).
    for branch in branches {
        let object = branch.get("properties").is_some() || branch.get("allOf").is_some();
        let tagged = branch["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(key, sub)| Some((key, sub.get("const")?)))
            .all(|(key, tag)| value.get(key) == Some(tag));
        if object && tagged {
            collect_properties(doc, branch, value, declared, others);
        }
    }
}

/// How the document's operations and the router's routes differ.
fn disagreements(doc: &Value, routes: &[Route]) -> Vec<String> {
    let any_paths: BTreeSet<&str> = routes
        .iter()
        .filter(|r| r.method == "any")
        .map(|r| r.path.as_str())
        .collect();
    let served: BTreeSet<(String, String)> = routes
        .iter()
        .map(|r| (r.method.replace("any", "post"), r.path.clone()))
        .collect();
    // A route that takes any method is documented with POST (and may list others).
    let documented: BTreeSet<(String, String)> = operations(doc)
        .into_iter()
        .filter(|(method, path, _)| method == "post" || !any_paths.contains(path.as_str()))
        .map(|(method, path, _)| (method, path))
        .collect();
    let missing = served
        .difference(&documented)
        .map(|(m, p)| format!("served but not documented: {m} {p}"));
    let extra = documented
        .difference(&served)
        .map(|(m, p)| format!("documented but not served: {m} {p}"));
    missing.chain(extra).collect()
}

// ------------------------------------------------------------------------------- tests

#[test]
fn the_document_is_openapi_3_1_and_its_refs_and_schemas_hold() {
    let doc = document();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1."))
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());

    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                out.extend(map.get("$ref").and_then(Value::as_str));
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for pointer in all {
        assert!(
            pointer
                .strip_prefix('#')
                .and_then(|p| doc.pointer(p))
                .is_some(),
            "$ref {pointer} resolves to nothing"
        );
    }

    let mut ids = BTreeSet::new();
    for (method, path, operation) in operations(&doc) {
        let responses = operation["responses"].as_object();
        assert!(
            responses.is_some_and(|r| !r.is_empty()),
            "{method} {path} has no responses"
        );
        let id = operation["operationId"].as_str();
        assert!(
            id.is_some_and(|id| ids.insert(id)),
            "{method} {path}: operationId"
        );
        let declared: BTreeSet<&str> = parameters(&doc, &path, operation)
            .into_iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                assert_eq!(
                    p["required"], true,
                    "{method} {path}: path parameters are required"
                );
                p["name"].as_str().expect("a name")
            })
            .collect();
        let templated: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        assert_eq!(declared, templated, "{method} {path}: path parameters");
    }

    fn inline<'a>(value: &'a Value, out: &mut Vec<(String, &'a Value)>) {
        match value {
            Value::Object(map) => {
                let named = map.get("name").map_or_else(String::new, Value::to_string);
                out.extend(map.get("schema").map(|s| (format!("inline {named}"), s)));
                map.values().for_each(|v| inline(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| inline(v, out)),
            _ => {}
        }
    }
    let mut schemas: Vec<(String, &Value)> = doc["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .iter()
        .map(|(name, schema)| (name.clone(), schema))
        .collect();
    inline(&doc["paths"], &mut schemas);
    inline(&doc["components"]["parameters"], &mut schemas);
    inline(&doc["components"]["responses"], &mut schemas);
    assert!(schemas.len() > 60, "only {} schemas found", schemas.len());
    for (name, schema) in &schemas {
        let validator = compile(&doc, schema);
        for example in schema["examples"].as_array().into_iter().flatten() {
            let errors: Vec<String> = validator
                .iter_errors(example)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "an example of {name}: {errors:?}");
            let mut extra = Vec::new();
            undeclared(&doc, schema, example, name, &mut extra);
            assert!(
                extra.is_empty(),
                "an example of {name} has undeclared {extra:?}"
            );
        }
    }
}

#[test]
fn the_document_describes_exactly_the_routes_the_router_serves() {
    let routes = router_routes();
    assert!(routes.len() >= 20, "the router parse found only {routes:?}");
    assert_eq!(disagreements(&document(), &routes), Vec::<String>::new());
}

#[test]
fn the_route_check_notices_a_route_added_or_forgotten() {
    let edited = source::ROUTER
        .replacen(
            ".route(\"/events\", get(events::stream))",
            ".route(\"/events\", get(events::stream))\n.route(\"/campaigns/{id}/clone\", post(campaigns::duplicate))",
            1,
        )
        .replacen(
            "get(workflows::list)",
            "get(workflows::list).delete(workflows::list)",
            1,
        )
        .replacen(
            ".route(\"/healthz\", get(healthz))",
            ".route(\"/healthz\", get(healthz)) // .route(\"/x\", get(healthz))\n.route(\"/readyz\", get(healthz).layer(middleware::from_fn_with_state(state.clone(), authenticate)))",
            1,
        );
    let routes = source::routes_in(&edited);
    assert!(
        routes
            .iter()
            .any(|r| r.path == "/readyz" && r.authenticated)
    );
    let mut doc = document();
    if let Some(paths) = doc["paths"].as_object_mut() {
        paths.remove("/v1/campaigns/{id}/stats");
    }
    assert_eq!(
        disagreements(&doc, &routes),
        [
            "served but not documented: delete /v1/workflows",
            "served but not documented: get /readyz",
            "served but not documented: get /v1/campaigns/{id}/stats",
            "served but not documented: post /v1/campaigns/{id}/clone",
        ]
    );
    doc["paths"]["/v1/campaigns/{id}/stats"] =
        document()["paths"]["/v1/campaigns/{id}/stats"].clone();
    let served = source::routes_in(source::ROUTER);
    doc["paths"]["/v1/campaigns/{id}/stats"]["put"] = json!({"responses": {}});
    assert_eq!(
        disagreements(&doc, &served),
        ["documented but not served: put /v1/campaigns/{id}/stats"]
    );
}

#[test]
fn each_operation_matches_its_handler() {
    let doc = document();
    let global = &doc["security"];
    for route in router_routes() {
        let method = route.method.replace("any", "post");
        let (path, handler) = (&route.path, &route.handler);
        let operation = &doc["paths"][path][&method];
        let security = operation.get("security").unwrap_or(global);
        assert_eq!(
            security.as_array().is_some_and(|s| !s.is_empty()),
            route.authenticated,
            "{method} {path}: security (authenticated by the router: {})",
            route.authenticated
        );
        let signature = signature(handler);

        let query: Vec<&Value> = parameters(&doc, path, operation)
            .into_iter()
            .filter(|p| p["in"] == "query")
            .collect();
        let names: BTreeSet<&str> = query.iter().filter_map(|p| p["name"].as_str()).collect();
        match &signature.query {
            None => assert!(
                names.is_empty(),
                "{method} {path} ({handler}) takes no query"
            ),
            Some(type_name) => {
                let shape = shape_of(handler, type_name);
                assert_eq!(
                    names, shape.fields,
                    "{method} {path}: the fields of {type_name}"
                );
                let pairs: Vec<String> = query
                    .iter()
                    .map(|p| {
                        format!(
                            "{}={}",
                            p["name"].as_str().unwrap_or(""),
                            sample(&p["schema"])
                        )
                    })
                    .collect();
                let uri = |pairs: &[&String]| -> Uri {
                    let pairs: Vec<&str> = pairs.iter().map(|p| p.as_str()).collect();
                    format!("{path}?{}", pairs.join("&"))
                        .parse()
                        .expect("a URI")
                };
                let all = uri(&pairs.iter().collect::<Vec<_>>());
                (shape.from_query)(&all).unwrap_or_else(|e| panic!("{all} as {type_name}: {e}"));
                for (i, parameter) in query.iter().enumerate() {
                    let without: Vec<&String> = pairs
                        .iter()
                        .enumerate()
                        .filter_map(|(j, pair)| (j != i).then_some(pair))
                        .collect();
                    assert_eq!(
                        (shape.from_query)(&uri(&without)).is_ok(),
                        parameter["required"] != true,
                        "{method} {path}: is {} required?",
                        parameter["name"]
                    );
                }
            }
        }

        let body = operation.get("requestBody");
        match (&signature.json_body, signature.raw_body) {
            (Some(type_name), _) => {
                let body = body.unwrap_or_else(|| panic!("{method} {path} needs a requestBody"));
                assert_eq!(
                    body["required"], !signature.body_optional,
                    "{method} {path}"
                );
                let schema = resolve(&doc, &body["content"]["application/json"]["schema"]);
                let shape = shape_of(handler, type_name);
                let properties: BTreeSet<&str> = schema["properties"]
                    .as_object()
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                assert_eq!(
                    properties, shape.fields,
                    "{method} {path}: the fields of {type_name}"
                );
                let example = schema["examples"][0].clone();
                assert!(
                    (shape.from_json)(example.clone()),
                    "{method} {path}: its example"
                );
                let required: BTreeSet<&str> = schema["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                for field in &shape.fields {
                    let mut without = example.clone();
                    without.as_object_mut().map(|o| o.remove(*field));
                    assert_eq!(
                        (shape.from_json)(without),
                        !required.contains(field),
                        "{method} {path}: is {field} required?"
                    );
                }
            }
            (None, true) => {
                let content = body.and_then(|b| b["content"].as_object());
                assert!(
                    content.is_some_and(|c| !c.is_empty() && !c.contains_key("application/json")),
                    "{method} {path}: a raw body is not JSON"
                );
            }
            (None, false) => assert!(body.is_none(), "{method} {path} takes no body"),
        }

        let responses = operation["responses"].as_object().expect("responses");
        let success: Vec<&str> = responses
            .keys()
            .map(String::as_str)
            .filter(|s| s.starts_with('2'))
            .collect();
        assert_eq!(
            success,
            [signature.status],
            "{method} {path}: success status"
        );
        let content: BTreeSet<String> = responses[signature.status]["content"]
            .as_object()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(
            content, signature.content,
            "{method} {path}: the media types {handler} answers"
        );
        if let Some(answer) = &signature.answer {
            let component = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
            let expected = match generic_argument(answer, "Vec<") {
                Some(item) => json!({ "type": "array", "items": component(&item) }),
                None => component(answer),
            };
            let schema = &responses[signature.status]["content"]["application/json"]["schema"];
            assert_eq!(
                *schema, expected,
                "{method} {path}: the answer is a {answer}"
            );
        }
    }
}

#[test]
fn real_answers_match_their_schemas() {
    let doc = document();
    for (name, value) in samples::samples() {
        let schema = &doc["components"]["schemas"][name];
        assert!(schema.is_object(), "no component schema {name}");
        let errors: Vec<String> = compile(&doc, schema)
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}\n{value:#}");
        let mut extra = Vec::new();
        undeclared(&doc, schema, &value, name, &mut extra);
        assert!(
            extra.is_empty(),
            "{name} has fields the schema does not declare: {extra:?}"
        );
    }
}
