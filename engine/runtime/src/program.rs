//! A campaign workflow compiled for execution: steps flattened into a list of instructions
//! with jumps (so a recipient's position is one number, stable for the pinned workflow
//! version), Rhai expressions compiled once, templates parsed once.

use std::sync::Arc;

use switchboard_model::campaign::{CampaignStep, CampaignWorkflow, Send, WaitUntil, WaitUntilAt};
use switchboard_model::check::{CAMPAIGN_SCOPE, campaign_saved_names};
use switchboard_model::expr::{ExprEngine, Expression};
use switchboard_model::template::Template;
use switchboard_model::workflow::RetryPolicy;

/// Why a workflow could not be compiled (validation should have caught it first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("workflow {workflow}: {path}: {message}")]
pub struct CompileError {
    /// The workflow id.
    pub workflow: String,
    /// Where in the workflow, e.g. `steps[2].send`.
    pub path: String,
    /// What failed.
    pub message: String,
}

/// One A/B variant (or the only text) of a message.
#[derive(Debug, Clone)]
pub struct MessageVariant {
    /// Name in statistics (`main` for a message without variants).
    pub id: String,
    /// Relative share.
    pub weight: u32,
    /// The text template.
    pub template: Template,
    /// Media URLs.
    pub media: Vec<String>,
}

/// A send step.
#[derive(Debug, Clone)]
pub struct SendInstr {
    /// Stable id of the message in the sequence (`step-N` when the author gave none).
    pub id: String,
    /// Send only when true.
    pub when: Option<Expression>,
    /// At least one.
    pub variants: Vec<MessageVariant>,
    /// Transient-failure retries.
    pub retry: RetryPolicy,
}

/// One instruction.
#[derive(Debug, Clone)]
pub enum Instr {
    /// Finish as skipped unless true.
    Filter(Expression),
    /// Sleep this many seconds.
    Delay(u64),
    /// Sleep until a recipient-local time.
    WaitUntil(WaitUntilAt),
    /// Send a message.
    Send(Box<SendInstr>),
    /// Wait for a reply.
    WaitReply {
        /// Stable id.
        id: String,
        /// Seconds.
        timeout: u64,
        /// Where the reply text goes.
        save_as: Option<String>,
    },
    /// Store a computed value.
    Save {
        /// Name.
        field: String,
        /// Value.
        value: Expression,
    },
    /// Continue at `target` unless the condition holds.
    JumpUnless {
        /// The branch condition.
        condition: Expression,
        /// The first instruction of the `else` steps (or after the branch).
        target: u32,
    },
    /// Continue at `target`.
    Jump(u32),
    /// Tag the recipient.
    Tag(String),
    /// End the run (completed).
    Stop,
}

/// A compiled campaign workflow.
#[derive(Debug, Clone)]
pub struct Program {
    /// The instructions; running past the last one completes the run.
    pub instrs: Vec<Instr>,
    /// Every name a step saves: in scope (as `()` until saved) for every expression.
    pub saved_names: Vec<String>,
    /// The workflow.
    pub workflow: Arc<CampaignWorkflow>,
}

/// Retry policy when the workflow gives none: three attempts, 30 s then 60 s apart.
pub fn default_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        backoff: switchboard_model::duration::Duration::from_seconds(30),
        max_backoff: Some(switchboard_model::duration::Duration::from_seconds(15 * 60)),
    }
}

struct Compiler<'a> {
    engine: &'a ExprEngine,
    workflow: &'a CampaignWorkflow,
    scope: Vec<String>,
    instrs: Vec<Instr>,
}

impl Program {
    /// Compiles a validated workflow.
    pub fn compile(
        engine: &ExprEngine,
        workflow: Arc<CampaignWorkflow>,
    ) -> Result<Self, CompileError> {
        let mut saved = std::collections::BTreeSet::new();
        campaign_saved_names(&workflow.steps, &mut saved);
        let saved_names: Vec<String> = saved.into_iter().collect();
        let scope = CAMPAIGN_SCOPE
            .iter()
            .map(|s| s.to_string())
            .chain(saved_names.iter().cloned())
            .collect();
        let mut compiler = Compiler {
            engine,
            workflow: &workflow,
            scope,
            instrs: Vec::new(),
        };
        compiler.steps(&workflow.steps, "steps")?;
        let instrs = compiler.instrs;
        Ok(Self {
            instrs,
            saved_names,
            workflow,
        })
    }
}

impl Compiler<'_> {
    fn error(&self, path: &str, message: impl Into<String>) -> CompileError {
        CompileError {
            workflow: self.workflow.id.clone(),
            path: path.to_string(),
            message: message.into(),
        }
    }

    fn expression(&self, path: &str, source: &str) -> Result<Expression, CompileError> {
        let names: Vec<&str> = self.scope.iter().map(String::as_str).collect();
        self.engine
            .compile(source, &names)
            .map_err(|e| self.error(path, e.message))
    }

    fn template(&self, path: &str, text: &str) -> Result<Template, CompileError> {
        Template::parse(text).map_err(|e| self.error(path, e.to_string()))
    }

    fn steps(&mut self, steps: &[CampaignStep], path: &str) -> Result<(), CompileError> {
        for (index, step) in steps.iter().enumerate() {
            let path = format!("{path}[{index}]");
            let instr = match step {
                CampaignStep::Filter(condition) => {
                    Instr::Filter(self.expression(&path, condition)?)
                }
                CampaignStep::Delay(duration) => Instr::Delay(duration.as_seconds()),
                CampaignStep::WaitUntil(WaitUntil::Time(time)) => Instr::WaitUntil(WaitUntilAt {
                    time: *time,
                    weekday: None,
                    date: None,
                }),
                CampaignStep::WaitUntil(WaitUntil::At(at)) => Instr::WaitUntil(at.clone()),
                CampaignStep::Send(send) => Instr::Send(Box::new(self.send(&path, send)?)),
                CampaignStep::WaitReply(wait) => Instr::WaitReply {
                    id: wait
                        .id
                        .clone()
                        .unwrap_or_else(|| format!("step-{}", self.instrs.len())),
                    timeout: wait.timeout.as_seconds(),
                    save_as: wait.save_as.clone(),
                },
                CampaignStep::Save(save) => Instr::Save {
                    field: save.field.clone(),
                    value: self.expression(&path, &save.value)?,
                },
                CampaignStep::Tag(tag) => Instr::Tag(tag.clone()),
                CampaignStep::Stop => Instr::Stop,
                CampaignStep::Branch(branch) => {
                    let condition =
                        self.expression(&format!("{path}.branch.if"), &branch.condition)?;
                    let jump_at = self.instrs.len();
                    self.instrs.push(Instr::Jump(0)); // patched below
                    self.steps(&branch.then, &format!("{path}.branch.then"))?;
                    if branch.otherwise.is_empty() {
                        let after = self.position();
                        self.instrs[jump_at] = Instr::JumpUnless {
                            condition,
                            target: after,
                        };
                    } else {
                        let skip_else = self.instrs.len();
                        self.instrs.push(Instr::Jump(0)); // patched below
                        let else_start = self.position();
                        self.steps(&branch.otherwise, &format!("{path}.branch.else"))?;
                        let after = self.position();
                        self.instrs[jump_at] = Instr::JumpUnless {
                            condition,
                            target: else_start,
                        };
                        self.instrs[skip_else] = Instr::Jump(after);
                    }
                    continue;
                }
            };
            self.instrs.push(instr);
        }
        Ok(())
    }

    fn position(&self) -> u32 {
        u32::try_from(self.instrs.len()).unwrap_or(u32::MAX)
    }

    fn send(&self, path: &str, send: &Send) -> Result<SendInstr, CompileError> {
        let fallback_id = format!("step-{}", self.instrs.len());
        let retry = self.workflow.retry.clone().unwrap_or_else(default_retry);
        Ok(match send {
            Send::Text(text) => SendInstr {
                id: fallback_id,
                when: None,
                variants: vec![MessageVariant {
                    id: "main".into(),
                    weight: 1,
                    template: self.template(path, text)?,
                    media: Vec::new(),
                }],
                retry,
            },
            Send::Message(message) => {
                let when = message
                    .when
                    .as_deref()
                    .map(|w| self.expression(path, w))
                    .transpose()?;
                let variants = match &message.text {
                    Some(text) => vec![MessageVariant {
                        id: "main".into(),
                        weight: 1,
                        template: self.template(path, text)?,
                        media: message.media.clone(),
                    }],
                    None => message
                        .variants
                        .iter()
                        .map(|v| {
                            Ok(MessageVariant {
                                id: v.id.clone(),
                                weight: v.weight,
                                template: self.template(path, &v.text)?,
                                media: if v.media.is_empty() {
                                    message.media.clone()
                                } else {
                                    v.media.clone()
                                },
                            })
                        })
                        .collect::<Result<Vec<_>, CompileError>>()?,
                };
                if variants.is_empty() {
                    return Err(self.error(path, "a message needs text or variants"));
                }
                SendInstr {
                    id: message.id.clone().unwrap_or(fallback_id),
                    when,
                    variants,
                    retry: message.retry.clone().unwrap_or(retry),
                }
            }
        })
    }
}

/// Picks a variant for a recipient: deterministic (the same recipient always gets the same
/// one, across restarts) and proportional to the weights over many recipients.
pub fn choose_variant(variants: &[MessageVariant], recipient_key: &str) -> usize {
    let total: u64 = variants.iter().map(|v| u64::from(v.weight)).sum();
    if total == 0 || variants.len() < 2 {
        return 0;
    }
    let mut point = fnv1a(recipient_key.as_bytes()) % total;
    for (index, variant) in variants.iter().enumerate() {
        let weight = u64::from(variant.weight);
        if point < weight {
            return index;
        }
        point -= weight;
    }
    variants.len() - 1
}

/// FNV-1a with a final avalanche: stable across machines and releases (unlike std's hasher).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = switchboard_model::hash::fnv1a_64(bytes);
    // FNV's low bits are weak for short, similar keys (phone numbers): mix them.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_model::Workflow;

    fn compile(yaml: &str) -> Program {
        let report = switchboard_model::load_source("test.yaml", yaml);
        let workflow = match report.workflow {
            Some(Workflow::Campaign(campaign)) => campaign,
            other => panic!("not a valid campaign: {:?} {other:?}", report.diagnostics),
        };
        Program::compile(&ExprEngine::new(), Arc::new(*workflow)).expect("compiles")
    }

    const HEAD: &str = "kind: campaign\nid: t\nprovider: mock\nsender: \"+14165550100\"\nconsent: { acknowledged: true }\n";

    #[test]
    fn flattens_branches_into_jumps() {
        let program = compile(&format!(
            "{HEAD}steps:\n  - send: a\n  - branch:\n      if: 'true'\n      then:\n        - tag: x\n      else:\n        - tag: y\n  - send: b\n"
        ));
        // 0 send a | 1 jump-unless → 4 | 2 tag x | 3 jump → 5 | 4 tag y | 5 send b
        assert!(matches!(
            program.instrs[1],
            Instr::JumpUnless { target: 4, .. }
        ));
        assert!(matches!(program.instrs[3], Instr::Jump(5)));
        assert!(matches!(&program.instrs[4], Instr::Tag(tag) if tag == "y"));
        assert_eq!(program.instrs.len(), 6);
    }

    #[test]
    fn a_branch_without_else_jumps_past_then() {
        let program = compile(&format!(
            "{HEAD}steps:\n  - branch: {{ if: 'false', then: [ {{ tag: x }} ] }}\n  - stop\n"
        ));
        assert!(matches!(
            program.instrs[0],
            Instr::JumpUnless { target: 2, .. }
        ));
        assert!(matches!(program.instrs[2], Instr::Stop));
    }

    #[test]
    fn variant_choice_is_stable_and_follows_weights() {
        let variant = |id: &str, weight| MessageVariant {
            id: id.into(),
            weight,
            template: Template::parse("x").expect("template"),
            media: Vec::new(),
        };
        let variants = [variant("a", 1), variant("b", 3)];
        assert_eq!(
            choose_variant(&variants, "+14165550100"),
            choose_variant(&variants, "+14165550100")
        );
        let n = 40_000;
        let b = (0..n)
            .filter(|i| choose_variant(&variants, &format!("+1416555{i:04}")) == 1)
            .count();
        let share = b as f64 / n as f64;
        assert!(
            (share - 0.75).abs() < 0.02,
            "variant b got {share:.3} of recipients, expected 0.75"
        );
    }
}
