//! Semantic checks: what a schema cannot say. Rhai expressions compile with the variables in
//! scope, template placeholders are known (when the workflow declares its fields), send windows
//! make sense, ids are unique, no step is unreachable, messages fit the SMS limits.
//!
//! Runs on a document that passed the schema, so it works on typed values; it still reports
//! every problem it finds, not just the first.

use std::collections::{BTreeMap, BTreeSet};

use crate::campaign::{CampaignStep, CampaignWorkflow, Send, Sender, WaitUntil};
use crate::conversation::{ConversationStep, ConversationWorkflow, Reply, Route, Suggest};
use crate::diagnostic::{Finding, did_you_mean};
use crate::expr::ExprEngine;
use crate::path::FieldPath;
use crate::segments::{MAX_MESSAGE_CHARS, segment_info};
use crate::template::Template;
use crate::window::{TimeOfDay, TimeRange, WeeklyHours};
use crate::workflow::{Fields, NAME_PATTERN, Variables, Workflow};

/// Variables every campaign expression can use.
pub const CAMPAIGN_SCOPE: &[&str] = &["recipient", "vars", "campaign"];
/// Variables every conversation expression can use.
pub const CONVERSATION_SCOPE: &[&str] = &["message", "contact", "conversation", "vars"];
/// Template fields that always exist.
pub const BUILTIN_FIELDS: &[&str] = &["phone"];
/// The daemon's default allowed hours, recipient local time (08:00–21:00).
pub const DEFAULT_ALLOWED_HOURS: TimeRange = TimeRange {
    start: match TimeOfDay::from_hm(8, 0) {
        Some(time) => time,
        None => TimeOfDay::MIDNIGHT,
    },
    end: match TimeOfDay::from_hm(21, 0) {
        Some(time) => time,
        None => TimeOfDay::END_OF_DAY,
    },
};
/// More segments than this in one message is almost always a mistake (and expensive).
const SEGMENT_WARNING: u32 = 10;
/// Characters that look like GSM-7 ones but force UCS-2 (word processors insert them).
const LOOKALIKES: &[char] = &['’', '‘', '“', '”', '–', '—', '…', '\u{a0}'];

/// Checks a schema-valid workflow.
pub fn check_workflow(workflow: &Workflow) -> Vec<Finding> {
    // Building a Rhai engine registers its whole standard library: do it once.
    static ENGINE: std::sync::LazyLock<ExprEngine> = std::sync::LazyLock::new(ExprEngine::new);
    match workflow {
        Workflow::Campaign(campaign) => CampaignChecker::new(campaign, &ENGINE).run(),
        Workflow::Conversation(conversation) => {
            ConversationChecker::new(conversation, &ENGINE).run()
        }
    }
}

/// What templates and expressions may refer to, and the findings so far.
struct Context<'a> {
    engine: &'a ExprEngine,
    /// Rhai variables in scope.
    variables: Vec<String>,
    /// Template fields known to exist; `None` when the workflow does not declare its fields
    /// (then any imported column may be used).
    known_fields: Option<BTreeSet<String>>,
    findings: Vec<Finding>,
    step_ids: BTreeMap<String, FieldPath>,
}

impl<'a> Context<'a> {
    fn new(
        engine: &'a ExprEngine,
        base_scope: &[&str],
        fields: Option<&Fields>,
        variables: &Variables,
        saved: BTreeSet<String>,
    ) -> Self {
        let mut findings = Vec::new();
        let name_pattern = regex::Regex::new(NAME_PATTERN).ok();
        for (key, kind) in fields
            .into_iter()
            .flat_map(|f| f.keys().map(|k| (k, "fields")))
            .chain(variables.keys().map(|k| (k, "variables")))
        {
            if name_pattern.as_ref().is_some_and(|p| !p.is_match(key)) {
                findings.push(
                    Finding::error(
                        "bad-name",
                        FieldPath::root().key(kind).key(key),
                        format!("{key:?} is not a valid name"),
                    )
                    .at_key()
                    .with_help(
                        "use letters, digits and _, not starting with a digit (e.g. first_name)",
                    ),
                );
            }
        }
        let known_fields = fields.map(|fields| {
            fields
                .keys()
                .cloned()
                .chain(variables.keys().cloned())
                .chain(saved.iter().cloned())
                .chain(BUILTIN_FIELDS.iter().map(|s| s.to_string()))
                .collect()
        });
        let variables = base_scope
            .iter()
            .map(|s| s.to_string())
            .chain(saved)
            .collect();
        Self {
            engine,
            variables,
            known_fields,
            findings,
            step_ids: BTreeMap::new(),
        }
    }

    fn expression(&mut self, path: FieldPath, source: &str, extra: &[&str]) {
        let names: Vec<&str> = self
            .variables
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied())
            .collect();
        if let Err(error) = self.engine.compile(source, &names) {
            let finding = match &error.unknown_variable {
                Some(name) => {
                    let help = did_you_mean(name, names.iter().copied())
                        .map(|n| format!("did you mean `{n}`?"))
                        .unwrap_or_else(|| format!("in scope here: {}", names.join(", ")));
                    Finding::error(
                        "unknown-variable",
                        path,
                        format!("expression uses unknown variable `{name}`"),
                    )
                    .with_help(help)
                }
                None => {
                    let at = match (error.line, error.column) {
                        (Some(line), Some(column)) if source.lines().count() > 1 => {
                            format!(" (line {line}, column {column} of the expression)")
                        }
                        (_, Some(column)) => format!(" (at character {column} of the expression)"),
                        _ => String::new(),
                    };
                    Finding::error(
                        "expression-syntax",
                        path,
                        format!("invalid expression: {}{at}", error.message),
                    )
                }
            };
            self.findings.push(finding);
        }
    }

    fn template(&mut self, path: FieldPath, text: &str) {
        let template = match Template::parse(text) {
            Ok(template) => template,
            Err(error) => {
                self.findings.push(Finding::error(
                    "template-syntax",
                    path,
                    format!("invalid template: {error}"),
                ));
                return;
            }
        };
        if let Some(known) = &self.known_fields {
            for placeholder in template.placeholders() {
                if placeholder.default.is_none() && !known.contains(&placeholder.field) {
                    let help = did_you_mean(&placeholder.field, known.iter().map(String::as_str))
                        .map(|f| format!("did you mean {{{f}}}?"))
                        .unwrap_or_else(|| {
                            format!(
                                "declare it under `fields`, or give a default: {{{}|...}}",
                                placeholder.field
                            )
                        });
                    self.findings.push(
                        Finding::error(
                            "unknown-template-field",
                            path.clone(),
                            format!("unknown field {{{}}}", placeholder.field),
                        )
                        .with_help(help),
                    );
                }
            }
        }
        let skeleton = template.skeleton();
        let info = segment_info(&skeleton);
        if info.chars as usize > MAX_MESSAGE_CHARS {
            self.findings.push(Finding::error(
                "message-too-long",
                path,
                format!("message is {} characters before any field is filled; the limit is {MAX_MESSAGE_CHARS}", info.chars),
            ));
            return;
        }
        if info.segments > SEGMENT_WARNING {
            self.findings.push(Finding::warning(
                "many-segments",
                path.clone(),
                format!(
                    "message is at least {} SMS segments (billed per segment)",
                    info.segments
                ),
            ));
        }
        let lookalikes: Vec<String> = info
            .non_gsm_chars
            .iter()
            .filter(|c| LOOKALIKES.contains(c))
            .map(|c| format!("{c:?}"))
            .collect();
        if !lookalikes.is_empty() && info.non_gsm_chars.iter().all(|c| LOOKALIKES.contains(c)) {
            self.findings.push(
                Finding::warning(
                    "ucs2-lookalike",
                    path,
                    format!(
                        "{} forces UCS-2 encoding: 70 characters per SMS instead of 160",
                        lookalikes.join(", ")
                    ),
                )
                .with_help("use plain ' \" - ... instead"),
            );
        }
    }

    fn media(&mut self, path: FieldPath, urls: &[String]) {
        for (index, url) in urls.iter().enumerate() {
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && !url.contains(char::is_whitespace)
                && url.len() > 10;
            if !ok {
                self.findings.push(Finding::error(
                    "bad-media-url",
                    path.index(index),
                    format!("{url:?} is not an http(s) URL"),
                ));
            }
        }
    }

    fn step_id(&mut self, path: FieldPath, id: &str) {
        match self.step_ids.get(id) {
            Some(first) => self.findings.push(
                Finding::error(
                    "duplicate-id",
                    path,
                    format!("step id `{id}` is already used at {first}"),
                )
                .with_help("step ids must be unique within a workflow"),
            ),
            None => {
                self.step_ids.insert(id.to_string(), path);
            }
        }
    }

    fn tag(&mut self, path: FieldPath, tag: &str) {
        if tag.trim().is_empty() {
            self.findings
                .push(Finding::error("empty-tag", path, "empty tag"));
        }
    }

    fn unreachable(&mut self, path: FieldPath, after: &str) {
        self.findings.push(
            Finding::error(
                "unreachable-step",
                path,
                format!("this step can never run: every path before it ends at `{after}`"),
            )
            .with_help(format!("remove it, or move the `{after}` into a branch")),
        );
    }
}

/// Checks steps one by one, for either kind of workflow.
trait StepChecker {
    /// The kind's step type.
    type Step;

    /// Reports a step that can never run.
    fn unreachable(&mut self, path: FieldPath, after: &'static str);

    /// Checks one step; returns the step name (`stop`, `close`) when it ends every path.
    fn step(&mut self, path: FieldPath, step: &Self::Step) -> Option<&'static str>;

    /// Checks a list of steps; returns the name of the step that ends every path through it,
    /// if one does. Steps after such an end are unreachable.
    fn steps(&mut self, path: &FieldPath, steps: &[Self::Step]) -> Option<&'static str> {
        let mut ended: Option<&'static str> = None;
        for (index, step) in steps.iter().enumerate() {
            let path = path.index(index);
            if let Some(after) = ended {
                self.unreachable(path, after);
                return ended;
            }
            ended = self.step(path, step);
        }
        ended
    }
}

/// Names every `save`/`save_as`/`ask` stores, anywhere in the steps: they are variables in
/// every expression (unset ones are `()`), so `answer == ()` works after a timeout.
pub fn campaign_saved_names(steps: &[CampaignStep], names: &mut BTreeSet<String>) {
    for step in steps {
        match step {
            CampaignStep::WaitReply(wait) => names.extend(wait.save_as.clone()),
            CampaignStep::Save(save) => {
                names.insert(save.field.clone());
            }
            CampaignStep::Branch(branch) => {
                campaign_saved_names(&branch.then, names);
                campaign_saved_names(&branch.otherwise, names);
            }
            _ => {}
        }
    }
}

struct CampaignChecker<'a> {
    campaign: &'a CampaignWorkflow,
    context: Context<'a>,
}

impl<'a> CampaignChecker<'a> {
    fn new(campaign: &'a CampaignWorkflow, engine: &'a ExprEngine) -> Self {
        let mut saved = BTreeSet::new();
        campaign_saved_names(&campaign.steps, &mut saved);
        let context = Context::new(
            engine,
            CAMPAIGN_SCOPE,
            campaign.fields.as_ref(),
            &campaign.variables,
            saved,
        );
        Self { campaign, context }
    }

    fn run(mut self) -> Vec<Finding> {
        let root = FieldPath::root();
        let campaign = self.campaign;
        let findings = &mut self.context.findings;
        match &campaign.consent {
            None => findings.push(
                Finding::warning("consent-missing", root.key("steps"), "no `consent` acknowledgment: the campaign will not start")
                    .at_key()
                    .with_help("add `consent: { acknowledged: true, source: ... }` once every recipient has opted in"),
            ),
            Some(consent) if !consent.acknowledged => findings.push(Finding::warning(
                "consent-missing",
                root.key("consent").key("acknowledged"),
                "consent is not acknowledged: the campaign will not start",
            )),
            Some(_) => {}
        }
        if let Sender::Pool(pool) = &campaign.sender {
            let mut seen = BTreeSet::new();
            for (index, number) in pool.pool.iter().enumerate() {
                if !seen.insert(number) {
                    findings.push(Finding::error(
                        "duplicate-sender",
                        root.key("sender").key("pool").index(index),
                        format!("{number} is in the pool twice"),
                    ));
                }
            }
        }
        if let Some(rate) = &campaign.rate
            && rate.per_second.is_none()
            && rate.per_minute.is_none()
            && rate.per_day.is_none()
        {
            findings.push(
                Finding::error("empty-rate", root.key("rate"), "`rate` sets no limit")
                    .at_key()
                    .with_help("give per_second, per_minute or per_day"),
            );
        }
        if let Some(window) = &campaign.window {
            let path = root.key("window");
            match WeeklyHours::resolve(&window.days) {
                Err(conflicts) => {
                    for conflict in conflicts {
                        findings.push(
                            Finding::error("bad-window", path.key("days").key(&conflict.second), conflict.to_string())
                                .at_key()
                                .with_help("name each weekday once"),
                        );
                    }
                }
                Ok(weekly) if weekly.is_always_closed() => findings.push(
                    Finding::error("bad-window", path.key("days"), "the window is closed every day: nothing would ever be sent")
                        .at_key()
                        .with_help("open at least one day, e.g. `mon-fri: 09:00-17:00` (days not named are closed)"),
                ),
                Ok(_) => {}
            }
            if let (Some(start), Some(end)) = (window.start, window.end)
                && end <= start
            {
                findings.push(Finding::error(
                    "bad-window",
                    path.key("end"),
                    format!("the campaign ends ({end}) before it starts ({start})"),
                ));
            }
        }
        if let Some(quiet) = &campaign.quiet_hours {
            let path = root.key("quiet_hours");
            if quiet.override_global && quiet.reason.as_deref().is_none_or(|r| r.trim().is_empty())
            {
                findings.push(
                    Finding::error("override-without-reason", path.key("override"), "overriding quiet hours needs a `reason`")
                        .with_help("say why these messages may wake people up, e.g. reason: outage notifications"),
                );
            }
            if let Some(allowed) = quiet.allowed {
                if quiet.override_global {
                    findings.push(Finding::error(
                        "bad-window",
                        path.key("allowed"),
                        "`allowed` narrows quiet hours and `override` lifts them: choose one",
                    ));
                } else if !allowed.within(&DEFAULT_ALLOWED_HOURS) {
                    findings.push(
                        Finding::warning(
                            "quiet-hours-widen",
                            path.key("allowed"),
                            format!("{allowed} reaches outside the default allowed hours {DEFAULT_ALLOWED_HOURS}: those hours stay blocked"),
                        )
                        .with_help("`allowed` can only narrow quiet hours; use `override: true` with a reason to lift them"),
                    );
                }
            }
        }
        self.retry(root.key("retry"), campaign.retry.as_ref());
        self.steps(&root.key("steps"), &campaign.steps);
        self.context.findings
    }

    fn retry(&mut self, path: FieldPath, retry: Option<&crate::workflow::RetryPolicy>) {
        if let Some(retry) = retry
            && let Some(max) = retry.max_backoff
            && max < retry.backoff
        {
            self.context.findings.push(Finding::error(
                "bad-retry",
                path.key("max_backoff"),
                format!(
                    "max_backoff {max} is shorter than backoff {}",
                    retry.backoff
                ),
            ));
        }
    }
}

impl StepChecker for CampaignChecker<'_> {
    type Step = CampaignStep;

    fn unreachable(&mut self, path: FieldPath, after: &'static str) {
        self.context.unreachable(path, after);
    }

    fn step(&mut self, path: FieldPath, step: &CampaignStep) -> Option<&'static str> {
        let context = &mut self.context;
        match step {
            CampaignStep::Filter(condition) => {
                context.expression(path.key("filter"), condition, &[])
            }
            CampaignStep::Delay(_) => {}
            CampaignStep::Tag(tag) => context.tag(path.key("tag"), tag),
            CampaignStep::WaitUntil(WaitUntil::Time(_)) => {}
            CampaignStep::WaitUntil(WaitUntil::At(at)) => {
                if at.weekday.is_some() && at.date.is_some() {
                    context.findings.push(Finding::error(
                        "bad-wait-until",
                        path.key("wait_until"),
                        "give a `weekday` or a `date`, not both",
                    ));
                }
            }
            CampaignStep::Send(Send::Text(text)) => context.template(path.key("send"), text),
            CampaignStep::Send(Send::Message(message)) => {
                let path = path.key("send");
                if let Some(id) = &message.id {
                    context.step_id(path.key("id"), id);
                }
                if let Some(when) = &message.when {
                    context.expression(path.key("when"), when, &[]);
                }
                context.media(path.key("media"), &message.media);
                match (&message.text, message.variants.is_empty()) {
                    (Some(_), false) => context.findings.push(
                        Finding::error(
                            "text-and-variants",
                            path.key("variants"),
                            "a message has `text` or `variants`, not both",
                        )
                        .at_key(),
                    ),
                    (None, true) => context.findings.push(
                        Finding::error(
                            "missing-field",
                            path.clone(),
                            "a message needs `text` (or `variants`)",
                        )
                        .at_key(),
                    ),
                    (Some(text), true) => context.template(path.key("text"), text),
                    (None, false) => {
                        if message.variants.len() < 2 {
                            context.findings.push(
                                Finding::error(
                                    "single-variant",
                                    path.key("variants"),
                                    "A/B testing needs at least two variants",
                                )
                                .at_key()
                                .with_help("use `text` for a single message"),
                            );
                        }
                        let mut ids = BTreeSet::new();
                        for (index, variant) in message.variants.iter().enumerate() {
                            let variant_path = path.key("variants").index(index);
                            if !ids.insert(variant.id.as_str()) {
                                context.findings.push(Finding::error(
                                    "duplicate-id",
                                    variant_path.key("id"),
                                    format!(
                                        "variant id `{}` is used twice in this message",
                                        variant.id
                                    ),
                                ));
                            }
                            context.template(variant_path.key("text"), &variant.text);
                            context.media(variant_path.key("media"), &variant.media);
                        }
                    }
                }
                self.retry(path.key("retry"), message.retry.as_ref());
            }
            CampaignStep::WaitReply(wait) => {
                if let Some(id) = &wait.id {
                    context.step_id(path.key("wait_reply").key("id"), id);
                }
            }
            CampaignStep::Save(save) => {
                context.expression(path.key("save").key("value"), &save.value, &[])
            }
            CampaignStep::Branch(branch) => {
                let path = path.key("branch");
                context.expression(path.key("if"), &branch.condition, &[]);
                let then_end = self.steps(&path.key("then"), &branch.then);
                let else_end = self.steps(&path.key("else"), &branch.otherwise);
                return then_end.and(else_end);
            }
            CampaignStep::Stop => return Some("stop"),
        }
        None
    }
}

struct ConversationChecker<'a> {
    conversation: &'a ConversationWorkflow,
    context: Context<'a>,
}

impl<'a> ConversationChecker<'a> {
    fn new(conversation: &'a ConversationWorkflow, engine: &'a ExprEngine) -> Self {
        let mut saved = BTreeSet::new();
        crate::conversation::saved_names(&conversation.steps, &mut saved);
        let context = Context::new(
            engine,
            CONVERSATION_SCOPE,
            conversation.fields.as_ref(),
            &conversation.variables,
            saved,
        );
        Self {
            conversation,
            context,
        }
    }

    fn run(mut self) -> Vec<Finding> {
        let root = FieldPath::root();
        let trigger = &self.conversation.trigger;
        let path = root.key("trigger");
        if trigger.is_empty() {
            self.context.findings.push(
                Finding::error(
                    "empty-trigger",
                    path.clone(),
                    "the trigger matches nothing: give at least one condition",
                )
                .at_key()
                .with_help(
                    "keywords, regex, when, campaign, or `any: true` for every inbound message",
                ),
            );
        }
        let mut seen = BTreeSet::new();
        for (index, keyword) in trigger.keywords.iter().enumerate() {
            // Matched as the engine matches it: case-folded whole words, punctuation ignored.
            let phrase = crate::words::words(keyword);
            if phrase.is_empty() {
                self.context.findings.push(Finding::error(
                    "empty-keyword",
                    path.key("keywords").index(index),
                    format!(
                        "keyword {keyword:?} has no letter or digit: no message can contain it as a word"
                    ),
                ));
            } else if !seen.insert(phrase) {
                self.context.findings.push(Finding::warning(
                    "duplicate-keyword",
                    path.key("keywords").index(index),
                    format!(
                        "keyword {keyword:?} is listed twice (keywords are case-insensitive and \
                         ignore punctuation)"
                    ),
                ));
            }
        }
        if let Some(pattern) = &trigger.regex
            && let Err(error) = regex::Regex::new(pattern)
        {
            let rendered = error.to_string();
            let last_line = rendered.lines().last().unwrap_or_default().trim();
            let message = last_line.strip_prefix("error: ").unwrap_or(last_line);
            self.context.findings.push(Finding::error(
                "bad-regex",
                path.key("regex"),
                format!("invalid regex: {message}"),
            ));
        }
        if let Some(when) = &trigger.when {
            self.context.expression(path.key("when"), when, &[]);
        }
        self.steps(&root.key("steps"), &self.conversation.steps);
        self.context.findings
    }
}

impl StepChecker for ConversationChecker<'_> {
    type Step = ConversationStep;

    fn unreachable(&mut self, path: FieldPath, after: &'static str) {
        self.context.unreachable(path, after);
    }

    fn step(&mut self, path: FieldPath, step: &ConversationStep) -> Option<&'static str> {
        let context = &mut self.context;
        match step {
            ConversationStep::Suggest(Suggest::Text(text)) => {
                context.template(path.key("suggest"), text)
            }
            ConversationStep::Suggest(Suggest::Full(suggestion)) => {
                let path = path.key("suggest");
                context.template(path.key("text"), &suggestion.text);
                if let Some(answer) = &suggestion.answer {
                    context.template(path.key("answer"), answer);
                }
                if let Some(when) = &suggestion.when {
                    context.expression(path.key("when"), when, &[]);
                }
            }
            ConversationStep::Route(Route::Queue(_)) => {}
            ConversationStep::Route(Route::Full(route)) => {
                let path = path.key("route");
                match (&route.escalate_after, &route.escalate_to) {
                    (Some(_), None) => context.findings.push(
                        Finding::error(
                            "missing-field",
                            path.clone(),
                            "`escalate_after` needs `escalate_to` (the queue to escalate to)",
                        )
                        .at_key(),
                    ),
                    (None, Some(_)) => context.findings.push(
                        Finding::error(
                            "missing-field",
                            path.clone(),
                            "`escalate_to` needs `escalate_after` (how long to wait for an agent)",
                        )
                        .at_key(),
                    ),
                    (Some(_), Some(to)) if *to == route.queue => {
                        context.findings.push(Finding::error(
                            "bad-route",
                            path.key("escalate_to"),
                            format!("escalating from `{to}` to itself does nothing"),
                        ))
                    }
                    _ => {}
                }
            }
            ConversationStep::Reply(Reply::Text(text)) => context.template(path.key("reply"), text),
            ConversationStep::Reply(Reply::Full(reply)) => {
                context.template(path.key("reply").key("text"), &reply.text);
                context.media(path.key("reply").key("media"), &reply.media);
            }
            ConversationStep::Ask(ask) => {
                let path = path.key("ask");
                context.template(path.key("question"), &ask.question);
                if let Some(retry_text) = &ask.retry_text {
                    context.template(path.key("retry_text"), retry_text);
                }
                if let Some(validate) = &ask.validate {
                    context.expression(path.key("validate"), validate, &["answer"]);
                }
            }
            ConversationStep::Save(save) => {
                context.expression(path.key("save").key("value"), &save.value, &[])
            }
            ConversationStep::Tag(tag) => context.tag(path.key("tag"), tag),
            ConversationStep::Branch(branch) => {
                let path = path.key("branch");
                context.expression(path.key("if"), &branch.condition, &[]);
                let then_end = self.steps(&path.key("then"), &branch.then);
                let else_end = self.steps(&path.key("else"), &branch.otherwise);
                return then_end.and(else_end);
            }
            ConversationStep::Close => return Some("close"),
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keywords_are_checked_as_the_engine_matches_them() {
        let source = "kind: conversation\nid: kw\ntrigger:\n  keywords: ['?!', 'Price!', 'price']\nsteps:\n  - tag: x\n";
        let report = crate::load_source("kw.yaml", source);
        let codes: Vec<&str> = report.diagnostics.iter().map(|d| d.code).collect();
        assert!(codes.contains(&"empty-keyword"), "{codes:?}");
        assert!(codes.contains(&"duplicate-keyword"), "{codes:?}");
        assert!(
            report.workflow.is_none(),
            "a keyword no message can contain is an error"
        );
    }
}
