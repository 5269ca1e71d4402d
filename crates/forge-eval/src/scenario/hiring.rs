//! The hiring decision of `grounded_synthesis` (lambda) and its stateful twin.

use std::collections::BTreeSet;

use forge_types::JsonObject;
use serde_json::{json, Value};

use super::{ScenarioBackend, ToolError};
use crate::py::{py_str, py_strip};
use crate::reference::{constant, field, text};

pub(crate) fn backend(name: &str) -> Option<Box<dyn ScenarioBackend>> {
    Some(match name {
        "grounded_synthesis" => Box::new(Hiring::new(false)),
        "grounded_synthesis_stateful" => Box::new(Hiring::new(true)),
        _ => return None,
    })
}

fn candidates() -> &'static serde_json::Map<String, Value> {
    constant("_model_reasoning._GS_CANDIDATES")
        .as_object()
        .expect("the candidate table is an object")
}

/// The first candidate (in pool order) whose lower-cased name equals the key, has it as a word,
/// or contains it.
fn resolve_candidate(name: &str) -> Option<&'static str> {
    let key = py_strip(name).to_lowercase();
    if key.is_empty() {
        return None;
    }
    candidates().keys().map(String::as_str).find(|canonical| {
        let lower = canonical.to_lowercase();
        key == lower || lower.split_whitespace().any(|word| word == key) || lower.contains(&key)
    })
}

#[derive(Debug)]
struct Hiring {
    stateful: bool,
    role_fetched: bool,
    pool_fetched: bool,
    compat_checked_for: BTreeSet<&'static str>,
    submitted_args: Option<JsonObject>,
}

impl Hiring {
    fn new(stateful: bool) -> Self {
        Self {
            stateful,
            role_fetched: false,
            pool_fetched: false,
            compat_checked_for: BTreeSet::new(),
            submitted_args: None,
        }
    }
}

impl ScenarioBackend for Hiring {
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
        let empty = json!("");
        Ok(match tool {
            "get_open_role" => {
                self.role_fetched = true;
                text("_model_reasoning._GS_OPEN_ROLE").to_owned()
            }
            "get_candidate_pool" => {
                self.pool_fetched = true;
                let n = candidates().len();
                let mut lines = vec![format!(
                    "Candidate Pool — Senior Backend Engineer, Payments Platform ({n} candidates):"
                )];
                lines.extend(
                    candidates()
                        .iter()
                        .map(|(name, info)| format!("  - {name} — {}", field(info, "brief"))),
                );
                lines.join("\n")
            }
            "get_skill_summary" | "get_compatibility_check" | "get_team_dynamics" => {
                let raw = py_str(args.get("candidate_name").unwrap_or(&empty));
                let shown = if self.stateful {
                    raw.clone()
                } else {
                    py_strip(&raw).to_owned()
                };
                let Some(canonical) = resolve_candidate(&raw) else {
                    return Ok(format!("No candidate found matching '{shown}'."));
                };
                let key = match tool {
                    "get_skill_summary" => "skill_summary",
                    "get_compatibility_check" => {
                        self.compat_checked_for.insert(canonical);
                        "compatibility"
                    }
                    _ => "team_dynamics",
                };
                field(&candidates()[canonical], key).to_owned()
            }
            "submit_hiring_decision" => {
                let mut candidate = py_str(args.get("candidate").unwrap_or(&empty));
                let mut rationale = py_str(args.get("rationale").unwrap_or(&empty));
                if !self.stateful {
                    candidate = py_strip(&candidate).to_owned();
                    rationale = py_strip(&rationale).to_owned();
                }
                let text = format!(
                    "Hiring decision recorded. Candidate: {candidate}. Rationale: {rationale}"
                );
                let mut submitted = JsonObject::new();
                submitted.insert("candidate".into(), Value::String(candidate));
                submitted.insert("rationale".into(), Value::String(rationale));
                self.submitted_args = Some(submitted);
                text
            }
            other => {
                return Err(ToolError::new(
                    "NotImplementedError",
                    format!("no tool {other}"),
                ))
            }
        })
    }

    fn state_ok(&self) -> Option<bool> {
        if !self.stateful {
            return None;
        }
        Some(
            self.role_fetched
                && self.pool_fetched
                && self.compat_checked_for.contains("Sarah Chen")
                && self.compat_checked_for.contains("James Patel")
                && self
                    .submitted_args
                    .as_ref()
                    .is_some_and(super::validators::grounded_synthesis),
        )
    }
}
