//! Campaign lifecycle: which state a campaign is in and which operator actions are legal.
//!
//! ```text
//! draft ─schedule→ scheduled ─(start time)→ sending ⇄ paused
//!   └────start───────────────────────────────↗   │
//! sending ─(every recipient final)→ completed ─retry failed→ retrying ─→ completed
//! scheduled | sending | paused ─stop→ stopped ─restart→ sending
//! completed | stopped ─archive→ archived
//! ```
//! Pure: the store applies the resulting state in the same transaction as its effects.

use serde::{Deserialize, Serialize};

/// Where a campaign is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    /// Being prepared; details editable.
    Draft,
    /// Will start at its scheduled time.
    Scheduled,
    /// Recipients are being worked through.
    Sending,
    /// Stopped by the operator for now; resumable.
    Paused,
    /// Every recipient reached a final state.
    Completed,
    /// Stopped by the operator; unsent messages cancelled. Can be restarted.
    Stopped,
    /// Re-sending the messages that failed.
    Retrying,
    /// Hidden from the default lists; read-only.
    Archived,
}

impl CampaignState {
    /// The state's name as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Draft => "draft",
            CampaignState::Scheduled => "scheduled",
            CampaignState::Sending => "sending",
            CampaignState::Paused => "paused",
            CampaignState::Completed => "completed",
            CampaignState::Stopped => "stopped",
            CampaignState::Retrying => "retrying",
            CampaignState::Archived => "archived",
        }
    }

    /// Whether recipients are being worked on (timers fire, sends go out).
    pub fn is_running(self) -> bool {
        matches!(self, CampaignState::Sending | CampaignState::Retrying)
    }
}

/// What an operator (or the engine) asks of a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleAction {
    /// Change name, lists, settings.
    Edit,
    /// Start at a later time.
    Schedule,
    /// Start now (also what a scheduled campaign does at its time).
    Start,
    /// Hold all sends.
    Pause,
    /// Continue after a pause.
    Resume,
    /// Cancel every unsent message.
    Stop,
    /// Rebuild the schedule of the unsent messages of a stopped campaign.
    Restart,
    /// Re-send only the failed messages of a finished campaign.
    RetryFailed,
    /// The engine found every recipient final.
    Complete,
    /// Hide a finished campaign.
    Archive,
    /// Remove the campaign and its data.
    Delete,
}

/// An action that the campaign's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} a campaign that is {state}{hint}", action = action_name(*.action), state = .state.as_str())]
pub struct IllegalTransition {
    /// The state the campaign was in.
    pub state: CampaignState,
    /// What was asked.
    pub action: LifecycleAction,
    /// What would be allowed instead, for the message.
    pub hint: &'static str,
}

fn action_name(action: LifecycleAction) -> &'static str {
    match action {
        LifecycleAction::Edit => "edit",
        LifecycleAction::Schedule => "schedule",
        LifecycleAction::Start => "start",
        LifecycleAction::Pause => "pause",
        LifecycleAction::Resume => "resume",
        LifecycleAction::Stop => "stop",
        LifecycleAction::Restart => "restart",
        LifecycleAction::RetryFailed => "retry the failed messages of",
        LifecycleAction::Complete => "complete",
        LifecycleAction::Archive => "archive",
        LifecycleAction::Delete => "delete",
    }
}

/// The state after `action`, or why it is not allowed. `Delete` returns the state unchanged:
/// the caller removes the campaign.
pub fn transition(
    state: CampaignState,
    action: LifecycleAction,
) -> Result<CampaignState, IllegalTransition> {
    use CampaignState as S;
    use LifecycleAction as A;
    let next = match (state, action) {
        (S::Draft, A::Edit) => S::Draft,
        (S::Draft, A::Schedule) | (S::Scheduled, A::Schedule) => S::Scheduled,
        (S::Draft | S::Scheduled, A::Start) => S::Sending,
        (S::Sending | S::Retrying, A::Pause) => S::Paused,
        (S::Paused, A::Resume) => S::Sending,
        (S::Scheduled | S::Sending | S::Paused | S::Retrying, A::Stop) => S::Stopped,
        (S::Stopped, A::Restart) => S::Sending,
        (S::Completed | S::Stopped, A::RetryFailed) => S::Retrying,
        (S::Sending | S::Retrying, A::Complete) => S::Completed,
        (S::Completed | S::Stopped, A::Archive) => S::Archived,
        (S::Draft | S::Completed | S::Stopped | S::Archived, A::Delete) => state,
        _ => {
            let hint = match (state, action) {
                (_, A::Edit) => {
                    ": details are editable only in draft (duplicate it to make a new one)"
                }
                (S::Sending | S::Paused | S::Scheduled | S::Retrying, A::Delete) => {
                    ": stop it first"
                }
                (S::Sending | S::Paused | S::Retrying, A::Archive) => {
                    ": stop it or let it complete first"
                }
                (S::Completed, A::Restart) => ": use retry failed to re-send failed messages",
                (S::Archived, _) => ": archived campaigns are read-only (duplicate it instead)",
                _ => "",
            };
            return Err(IllegalTransition {
                state,
                action,
                hint,
            });
        }
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use CampaignState as S;
    use LifecycleAction as A;

    #[test]
    fn the_happy_path() {
        let mut state = S::Draft;
        for action in [
            A::Edit,
            A::Schedule,
            A::Start,
            A::Pause,
            A::Resume,
            A::Complete,
            A::RetryFailed,
            A::Complete,
            A::Archive,
        ] {
            state = transition(state, action).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(state, S::Archived);
    }

    #[test]
    fn stop_and_restart() {
        assert_eq!(transition(S::Sending, A::Stop), Ok(S::Stopped));
        assert_eq!(transition(S::Stopped, A::Restart), Ok(S::Sending));
        assert_eq!(transition(S::Scheduled, A::Stop), Ok(S::Stopped));
    }

    #[test]
    fn illegal_transitions_explain_themselves() {
        let error = transition(S::Sending, A::Edit).expect_err("edit while sending");
        assert_eq!(
            error.to_string(),
            "cannot edit a campaign that is sending: details are editable only in draft (duplicate it to make a new one)"
        );
        assert!(transition(S::Sending, A::Delete).is_err());
        assert!(transition(S::Draft, A::Pause).is_err());
        assert!(transition(S::Archived, A::Start).is_err());
        assert!(transition(S::Completed, A::Restart).is_err());
    }

    #[test]
    fn every_state_action_pair_is_decided() {
        let states = [
            S::Draft,
            S::Scheduled,
            S::Sending,
            S::Paused,
            S::Completed,
            S::Stopped,
            S::Retrying,
            S::Archived,
        ];
        let actions = [
            A::Edit,
            A::Schedule,
            A::Start,
            A::Pause,
            A::Resume,
            A::Stop,
            A::Restart,
            A::RetryFailed,
            A::Complete,
            A::Archive,
            A::Delete,
        ];
        let legal = states
            .iter()
            .flat_map(|s| actions.iter().map(move |a| (*s, *a)))
            .filter(|(s, a)| transition(*s, *a).is_ok())
            .count();
        assert_eq!(
            legal, 23,
            "the table above changed: update the diagram in the module doc"
        );
    }
}
