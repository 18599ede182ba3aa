//! `kind: campaign` — who sends, from which number, how fast, when, and the steps every
//! recipient walks through.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::phone::E164;
use crate::window::{QuietHours, SendWindow, TimeOfDay};
use crate::workflow::{
    Branch, CampaignKind, Fields, ID_PATTERN, NAME_PATTERN, RetryPolicy, Save, Variables,
};

/// A campaign workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignWorkflow {
    /// `campaign`.
    pub kind: CampaignKind,
    /// Unique id of the workflow: lowercase letters, digits, `-` and `_`.
    #[schemars(regex(pattern = ID_PATTERN))]
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the campaign is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Labels to find the campaign by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The provider instance (as named in the daemon's config) that sends the messages.
    #[schemars(regex(pattern = ID_PATTERN))]
    pub provider: String,
    /// The number messages are sent from, or a pool of numbers.
    pub sender: Sender,
    /// The operator's confirmation that every recipient opted in. A campaign does not start
    /// without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
    /// How fast messages go out, per sender number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateLimit>,
    /// When recipients may receive messages, in their own timezone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<SendWindow>,
    /// Narrow (or, for urgent notifications, override) the daemon's global quiet hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// Automatic retry of transient provider failures, for every send step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    /// Recipient fields the workflow uses (any imported column is a field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Fields>,
    /// Constants for templates (`{promo_code}`) and expressions (`vars.promo_code`).
    #[serde(default, skip_serializing_if = "Variables::is_empty")]
    pub variables: Variables,
    /// What happens to every recipient, in order.
    #[schemars(length(min = 1))]
    pub steps: Vec<CampaignStep>,
}

/// One sender number, or a pool of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Sender {
    /// A single number in E.164 form.
    Number(E164),
    /// Several numbers sharing the load.
    Pool(SenderPool),
}

/// Several sender numbers; each has its own rate limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SenderPool {
    /// The numbers, in E.164 form.
    #[schemars(length(min = 1))]
    pub pool: Vec<E164>,
    /// How a recipient gets a number.
    #[serde(default)]
    pub strategy: PoolStrategy,
}

/// How a sender pool hands out numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PoolStrategy {
    /// A contact always hears from the same number (replies land in one conversation).
    #[default]
    Sticky,
    /// Numbers take turns, message by message.
    RoundRobin,
}

/// Opt-in acknowledgment, kept with the campaign for audits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// "I understand that I am required to obtain and store opt-in approval for every mobile
    /// number texted." Must be true for the campaign to start.
    pub acknowledged: bool,
    /// How the recipients opted in (web form, checkout, paper form ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Who acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// Pace limits per sender number; the strictest one set wins. The provider's throttling is
/// honoured on top.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// At most this many per second (fractions allowed: 0.5 = one every two seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub per_second: Option<f64>,
    /// At most this many per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub per_minute: Option<u32>,
    /// At most this many per day (recipient-independent, UTC day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub per_day: Option<u32>,
    /// What the limits count.
    #[serde(default)]
    pub unit: RateUnit,
}

/// What a rate limit counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateUnit {
    /// Messages, whatever their length.
    #[default]
    Messages,
    /// SMS segments (a 2-segment message counts 2), as carriers meter them.
    Segments,
}

/// One step of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CampaignStep {
    /// Continue only with recipients for whom this Rhai condition is true; the others finish
    /// as `skipped`. Example: `recipient.company != ""`.
    Filter(String),
    /// Wait this long (90s, 15m, 2h, 3d) before the next step.
    Delay(Duration),
    /// Wait until a time of day (next occurrence), optionally on a weekday or date, in the
    /// recipient's timezone.
    WaitUntil(WaitUntil),
    /// Send a message: a template text, or the full form with media, condition or variants.
    Send(Send),
    /// Wait for the recipient to reply, at most `timeout`.
    WaitReply(WaitReply),
    /// Store a computed value on the recipient.
    Save(Save),
    /// Run steps conditionally.
    Branch(Branch<CampaignStep>),
    /// Add a tag to the recipient.
    Tag(String),
    /// End this recipient's run here.
    Stop,
}

/// `wait_until: "09:30"`, or the full form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum WaitUntil {
    /// The next time the recipient's clock shows this time.
    Time(TimeOfDay),
    /// A time on a weekday or a date.
    At(WaitUntilAt),
}

/// A recipient-local moment to wait for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitUntilAt {
    /// Time of day.
    pub time: TimeOfDay,
    /// Only on this weekday (the next one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekday: Option<WeekdayName>,
    /// On this date (YYYY-MM-DD); if it has passed, the step continues at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<chrono::NaiveDate>,
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum WeekdayName {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl WeekdayName {
    /// As chrono's weekday.
    pub fn to_chrono(self) -> chrono::Weekday {
        match self {
            WeekdayName::Mon => chrono::Weekday::Mon,
            WeekdayName::Tue => chrono::Weekday::Tue,
            WeekdayName::Wed => chrono::Weekday::Wed,
            WeekdayName::Thu => chrono::Weekday::Thu,
            WeekdayName::Fri => chrono::Weekday::Fri,
            WeekdayName::Sat => chrono::Weekday::Sat,
            WeekdayName::Sun => chrono::Weekday::Sun,
        }
    }
}

/// `send: "Hi {name}!"`, or the full form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Send {
    /// Just a template text.
    Text(String),
    /// Text or variants, media, condition.
    Message(SendMessage),
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    /// Stable id of this message in the sequence (keeps its statistics across edits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ID_PATTERN))]
    pub id: Option<String>,
    /// The template text: `{field}` placeholders, `{field|default}` fallbacks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Media URLs (MMS), http or https.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub media: Vec<String>,
    /// Send only when this Rhai condition is true; otherwise go on to the next step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// A/B variants instead of `text`: each recipient gets one, chosen by weight,
    /// deterministically per recipient.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    /// Retry policy for this message (overrides the campaign's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
}

/// One A/B variant of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// The variant's name in statistics (`a`, `b`, `short`, ...).
    #[schemars(regex(pattern = ID_PATTERN))]
    pub id: String,
    /// Relative share of recipients (weights 1 and 3 = 25 % and 75 %).
    #[schemars(range(min = 1, max = 1000))]
    pub weight: u32,
    /// The template text.
    pub text: String,
    /// Media URLs (MMS), http or https.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub media: Vec<String>,
}

/// Wait for a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitReply {
    /// Stable id of this wait (its response rate in statistics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ID_PATTERN))]
    pub id: Option<String>,
    /// Give up waiting after this long; the saved value is then `()`.
    pub timeout: Duration,
    /// Store the reply text under this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = NAME_PATTERN))]
    pub save_as: Option<String>,
}
