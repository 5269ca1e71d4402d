//! What budget the caller asks for, and how that shapes the launch. The arithmetic itself lives
//! in `forge-context`.

use forge_context::{forge_fast_budget, launch_context_override, total_server_context, BudgetMode};

use crate::{LlamaTuning, ManagedError};

/// The caller's budget choice: a mode, and the token count that `manual` mode needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetRequest {
    mode: BudgetMode,
    manual_tokens: Option<u64>,
}

impl BudgetRequest {
    /// Checks the pair: `manual` needs a positive token count, and the other modes take none
    /// (a count there would be silently ignored, so it is refused).
    pub fn new(mode: BudgetMode, manual_tokens: Option<u64>) -> Result<Self, ManagedError> {
        launch_context_override(mode, manual_tokens)?;
        if mode != BudgetMode::Manual && manual_tokens.is_some() {
            return Err(ManagedError::InvalidConfig(format!(
                "--budget-tokens is only used with --budget-mode manual in managed mode (got --budget-mode {mode})"
            )));
        }
        Ok(Self {
            mode,
            manual_tokens,
        })
    }

    /// The mode.
    pub fn mode(&self) -> BudgetMode {
        self.mode
    }

    /// The manual token count (only in `manual` mode).
    pub fn manual_tokens(&self) -> Option<u64> {
        self.manual_tokens
    }

    pub(crate) fn launch_plan(&self) -> LaunchPlan {
        match (self.mode, self.manual_tokens) {
            (BudgetMode::Manual, Some(tokens)) => LaunchPlan::Fixed(tokens),
            (BudgetMode::ForgeFast, _) => LaunchPlan::HalfOfDiscovered,
            _ => LaunchPlan::ServerDefault,
        }
    }
}

impl Default for BudgetRequest {
    /// `backend` mode: the server's own context.
    fn default() -> Self {
        Self {
            mode: BudgetMode::Backend,
            manual_tokens: None,
        }
    }
}

/// How a spawned server is launched for a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LaunchPlan {
    /// No context override; the server picks.
    ServerDefault,
    /// This context size.
    Fixed(u64),
    /// Launch, read the full context, relaunch with half of it.
    HalfOfDiscovered,
}

/// The context a `forge-fast` relaunch gets from the first launch's report.
pub(crate) fn forge_fast_context(reported: u64, tuning: &LlamaTuning) -> u64 {
    forge_fast_budget(total_server_context(
        reported,
        tuning.n_slots,
        tuning.kv_unified,
    ))
}

/// The budget of an attached Ollama daemon (GPU detection runs off the async threads: it may
/// wait on `nvidia-smi`).
pub(crate) async fn ollama_budget(request: BudgetRequest) -> Result<u64, ManagedError> {
    let profile = match request.mode {
        BudgetMode::Manual => None,
        _ => tokio::task::spawn_blocking(forge_context::detect_hardware)
            .await
            .map_err(|err| ManagedError::budget(format!("GPU detection task failed: {err}")))??,
    };
    if let Some(profile) = &profile {
        tracing::info!(?profile, "detected GPU for the Ollama budget tier");
    }
    Ok(forge_context::ollama_budget(
        request.mode,
        request.manual_tokens,
        profile.as_ref(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_requests_are_checked_and_planned() {
        let plan = |mode, tokens| {
            BudgetRequest::new(mode, tokens)
                .map(|r| r.launch_plan())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            plan(BudgetMode::Backend, None),
            Ok(LaunchPlan::ServerDefault)
        );
        assert_eq!(
            plan(BudgetMode::ForgeFull, None),
            Ok(LaunchPlan::ServerDefault)
        );
        assert_eq!(
            plan(BudgetMode::ForgeFast, None),
            Ok(LaunchPlan::HalfOfDiscovered)
        );
        assert_eq!(
            plan(BudgetMode::Manual, Some(8000)),
            Ok(LaunchPlan::Fixed(8000))
        );
        let err = plan(BudgetMode::Manual, None).unwrap_err();
        assert!(err.contains("manual mode requires manual_tokens"), "{err}");
        let err = plan(BudgetMode::Manual, Some(0)).unwrap_err();
        assert!(err.contains("positive"), "{err}");
        let err = plan(BudgetMode::Backend, Some(4096)).unwrap_err();
        assert!(err.contains("only used with --budget-mode manual"), "{err}");
    }

    #[test]
    fn forge_fast_halves_the_whole_pool() {
        let tuning = |n_slots, kv_unified| LlamaTuning {
            n_slots,
            kv_unified,
            ..LlamaTuning::default()
        };
        assert_eq!(forge_fast_context(13568, &tuning(None, false)), 6784);
        assert_eq!(forge_fast_context(17500, &tuning(Some(2), false)), 17500);
        assert_eq!(forge_fast_context(70000, &tuning(Some(2), true)), 35000);
        assert_eq!(forge_fast_context(13568, &tuning(Some(1), false)), 6784);
    }
}
