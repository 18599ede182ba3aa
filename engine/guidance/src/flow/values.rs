//! What expressions and templates see: the Rhai scope of a run and template field lookup,
//! with the JSON ↔ Rhai conversions of `switchboard_model::expr` (the campaign executor's
//! conventions).

use std::collections::BTreeMap;

use rhai::{Dynamic, Scope};
use switchboard_model::template::Template;

use super::Message;
use super::compile::Flow;
use switchboard_model::expr::json_to_dynamic;

/// The message, conversation and contact of one run, as Rhai values. Saving a field updates
/// the contact, so later steps of the same run see it.
#[derive(Debug, Clone)]
pub(super) struct Context {
    message: rhai::Map,
    conversation: rhai::Map,
    /// The contact's fields as given, plus what this run saved (for templates).
    contact: serde_json::Map<String, serde_json::Value>,
    /// The same, as a Rhai map (for expressions).
    contact_map: rhai::Map,
}

impl Context {
    pub(super) fn new(message: &Message<'_>) -> Self {
        let mut message_map = rhai::Map::new();
        message_map.insert("text".into(), message.text.into());
        message_map.insert("campaign".into(), optional(message.campaign_workflow));
        let view = &message.conversation;
        let mut conversation = rhai::Map::new();
        conversation.insert("state".into(), view.state.into());
        conversation.insert("queue".into(), optional(view.queue));
        conversation.insert("assignee".into(), optional(view.assignee));
        let tags: rhai::Array = view.tags.iter().map(|tag| tag.as_str().into()).collect();
        conversation.insert("tags".into(), tags.into());
        let contact_map = message
            .contact
            .iter()
            .map(|(key, value)| (key.as_str().into(), json_to_dynamic(value)))
            .collect();
        Self {
            message: message_map,
            conversation,
            contact: message.contact.clone(),
            contact_map,
        }
    }

    /// Records a value saved by this run.
    pub(super) fn save(&mut self, field: &str, value: serde_json::Value) {
        self.contact_map
            .insert(field.into(), json_to_dynamic(&value));
        self.contact.insert(field.to_string(), value);
    }

    /// The scope every expression of `flow` runs in: the names it was compiled against.
    /// `answer` is given inside `ask.validate` only.
    pub(super) fn scope(&self, flow: &Flow, answer: Option<&str>) -> Scope<'static> {
        let mut scope = Scope::new();
        scope.push("message", self.message.clone());
        scope.push("contact", self.contact_map.clone());
        scope.push("conversation", self.conversation.clone());
        scope.push("vars", flow.rhai_variables.clone());
        // Every name the flow saves is a variable (`()` until saved), as in campaigns.
        for name in &flow.saved_names {
            let value = self
                .contact_map
                .get(name.as_str())
                .cloned()
                .unwrap_or(Dynamic::UNIT);
            scope.push_dynamic(name.as_str(), value);
        }
        if let Some(answer) = answer {
            scope.push("answer", answer.to_string());
        }
        scope
    }

    /// Fills a template: the contact's fields (saved ones included) first, then the flow's
    /// variables. Text, numbers and flags fill a field; `null`, lists and maps do not.
    pub(super) fn render(&self, flow: &Flow, template: &Template) -> Result<String, String> {
        let values: BTreeMap<&str, String> = template
            .placeholders()
            .filter_map(|placeholder| {
                let name = placeholder.field.as_str();
                let value = self
                    .contact
                    .get(name)
                    .and_then(json_text)
                    .or_else(|| flow.text_variables.get(name).cloned())?;
                Some((name, value))
            })
            .collect();
        template
            .render(|name| values.get(name).map(String::as_str))
            .map_err(|missing| {
                format!(
                    "contact has no value for template field {{{}}} and it has no default",
                    missing.0
                )
            })
    }
}

fn optional(value: Option<&str>) -> Dynamic {
    value.map_or(Dynamic::UNIT, Into::into)
}

/// A contact field as template text.
fn json_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Bool(flag) => Some(flag.to_string()),
        serde_json::Value::Null | serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_text_of_contact_fields() {
        assert_eq!(json_text(&serde_json::json!("a")), Some("a".into()));
        assert_eq!(json_text(&serde_json::json!(12)), Some("12".into()));
        assert_eq!(json_text(&serde_json::json!(false)), Some("false".into()));
        assert_eq!(json_text(&serde_json::json!(null)), None);
        assert_eq!(json_text(&serde_json::json!([1])), None);
    }
}
