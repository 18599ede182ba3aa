//! Triggers: which inbound messages start a flow. Every condition given must hold.

use regex::Regex;
use switchboard_model::conversation::Trigger as TriggerSpec;
use switchboard_model::expr::{ExprEngine, Expression};
use switchboard_model::path::FieldPath;

use super::compile::{Compiler, Flow};
use super::values::Context;
use super::{FlowError, Message};
use switchboard_model::words::{contains_phrase, words};

/// A compiled trigger.
#[derive(Debug)]
pub(super) struct Trigger {
    /// Any of these phrases (folded words) as whole words; empty when not given.
    keywords: Vec<Vec<String>>,
    regex: Option<Regex>,
    when: Option<Expression>,
    campaign: Option<String>,
}

/// What triggers look at in one message, worked out once for all flows and only when a
/// trigger needs it.
#[derive(Debug)]
pub(in crate::flow) struct Probe<'m> {
    message: &'m Message<'m>,
    words: Option<Vec<String>>,
    context: Option<Context>,
}

impl<'m> Probe<'m> {
    pub(in crate::flow) fn new(message: &'m Message<'m>) -> Self {
        Self {
            message,
            words: None,
            context: None,
        }
    }

    fn words(&mut self) -> &[String] {
        self.words.get_or_insert_with(|| words(self.message.text))
    }

    fn context(&mut self) -> &Context {
        self.context
            .get_or_insert_with(|| Context::new(self.message))
    }
}

impl Trigger {
    pub(super) fn compile(compiler: &Compiler<'_>, spec: &TriggerSpec) -> Result<Self, FlowError> {
        let path = FieldPath::root().key("trigger");
        if spec.is_empty() {
            return Err(compiler.error(
                &path,
                "the trigger matches nothing: give at least one condition",
            ));
        }
        let keywords = spec
            .keywords
            .iter()
            .enumerate()
            .map(|(index, keyword)| {
                let phrase = words(keyword);
                if phrase.is_empty() {
                    Err(compiler.error(
                        &path.key("keywords").index(index),
                        format!("keyword {keyword:?} has no letter or digit: no message can contain it as a word"),
                    ))
                } else {
                    Ok(phrase)
                }
            })
            .collect::<Result<_, _>>()?;
        let regex = spec
            .regex
            .as_deref()
            .map(|pattern| {
                Regex::new(pattern).map_err(|error| {
                    compiler.error(
                        &path.key("regex"),
                        format!("invalid regex {pattern:?}: {error}"),
                    )
                })
            })
            .transpose()?;
        let when = spec
            .when
            .as_deref()
            .map(|when| compiler.expression(&path.key("when"), when, &[]))
            .transpose()?;
        // `any: true` holds for every message: it adds nothing to check.
        Ok(Self {
            keywords,
            regex,
            when,
            campaign: spec.campaign.clone(),
        })
    }

    /// Whether the message starts `flow` (whose trigger this is). Cheap conditions first.
    pub(super) fn holds(&self, engine: &ExprEngine, flow: &Flow, probe: &mut Probe<'_>) -> bool {
        if let Some(campaign) = &self.campaign
            && probe.message.campaign_workflow != Some(campaign.as_str())
        {
            return false;
        }
        if let Some(regex) = &self.regex
            && !regex.is_match(probe.message.text)
        {
            return false;
        }
        if !self.keywords.is_empty() {
            let words = probe.words();
            if !self
                .keywords
                .iter()
                .any(|phrase| contains_phrase(words, phrase))
            {
                return false;
            }
        }
        if let Some(when) = &self.when {
            let mut scope = probe.context().scope(flow, None);
            // No place to report an error from here: a failing condition does not hold.
            return engine.eval_bool(when, &mut scope).unwrap_or(false);
        }
        true
    }
}
