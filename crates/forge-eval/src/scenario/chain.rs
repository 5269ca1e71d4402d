//! The 10-step medical investigation shared by the four compaction-chain scenarios.
//!
//! Every tool logs its own name on every invocation (before checking its argument), and the state
//! check wants exactly the ten names in order: any retry, extra call or reordering fails.

use forge_types::JsonObject;

use super::lambda::echo;
use super::{required, ScenarioBackend, ToolError};
use crate::py::as_py_str;
use crate::reference::{constant, text};

pub(crate) fn backend(name: &str) -> Option<Box<dyn ScenarioBackend>> {
    name.starts_with("compaction_chain")
        .then(|| Box::new(MedicalInvestigation::default()) as Box<dyn ScenarioBackend>)
}

/// One ID-checked step: the tool, its `(argument, expected ID, miss message)` checks in order
/// (`{}` in the message is the argument as given), and the constant holding its result.
struct Step {
    tool: &'static str,
    checks: &'static [(&'static str, &'static str, &'static str)],
    result: &'static str,
}

const STEPS: [Step; 8] = [
    Step {
        tool: "pull_records",
        checks: &[(
            "mrn",
            "MRN-84201",
            "No records for MRN '{}'. Expected: MRN-84201.",
        )],
        result: "_ENCOUNTER_RESULT",
    },
    Step {
        tool: "order_labs",
        checks: &[(
            "encounter_id",
            "ENC-20250305",
            "Unknown encounter '{}'. Expected: ENC-20250305.",
        )],
        result: "_LABS_RESULT",
    },
    Step {
        tool: "review_imaging",
        checks: &[(
            "lab_id",
            "LAB-7718",
            "Unknown lab order '{}'. Expected: LAB-7718.",
        )],
        result: "_IMAGING_RESULT",
    },
    Step {
        tool: "request_referral",
        checks: &[(
            "imaging_id",
            "IMG-3304",
            "Unknown imaging study '{}'. Expected: IMG-3304.",
        )],
        result: "_REFERRAL_RESULT",
    },
    Step {
        tool: "check_pharmacy",
        checks: &[(
            "referral_id",
            "REF-5521",
            "Unknown referral '{}'. Expected: REF-5521.",
        )],
        result: "_PHARMACY_RESULT",
    },
    Step {
        tool: "verify_insurance",
        checks: &[(
            "patient_mrn",
            "MRN-84201",
            "No insurance on file for MRN '{}'. Expected: MRN-84201.",
        )],
        result: "_INSURANCE_RESULT",
    },
    Step {
        tool: "request_prior_auth",
        checks: &[
            (
                "plan_id",
                "PLAN-BC-4490",
                "Unknown plan '{}'. Expected: PLAN-BC-4490.",
            ),
            (
                "referral_id",
                "REF-5521",
                "Unknown referral '{}'. Expected: REF-5521.",
            ),
        ],
        result: "_PRIOR_AUTH_RESULT",
    },
    Step {
        tool: "schedule_appointment",
        checks: &[
            (
                "auth_id",
                "AUTH-9917",
                "Unknown authorization '{}'. Expected: AUTH-9917.",
            ),
            (
                "referral_id",
                "REF-5521",
                "Unknown referral '{}'. Expected: REF-5521.",
            ),
        ],
        result: "_APPOINTMENT_RESULT",
    },
];

#[derive(Debug, Default)]
struct MedicalInvestigation {
    calls_in_order: Vec<String>,
}

impl ScenarioBackend for MedicalInvestigation {
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
        if tool == "patient_lookup" {
            let name = required(args, "patient_name")?;
            self.calls_in_order.push(tool.to_owned());
            let name = as_py_str(name, "strip")?;
            let lower = crate::py::py_strip(name).to_lowercase();
            if !lower.contains("margaret") && !lower.contains("chen") {
                return Ok(format!(
                    "No patient found for '{name}'. Try: Margaret Chen."
                ));
            }
            return Ok(text("_compaction_chain._PATIENT_RESULT").to_owned());
        }
        if tool == "submit_treatment_plan" {
            self.calls_in_order.push(tool.to_owned());
            return Ok(echo(args, "summary"));
        }
        let Some(step) = STEPS.iter().find(|step| step.tool == tool) else {
            return Err(ToolError::new(
                "NotImplementedError",
                format!("no tool {tool}"),
            ));
        };
        let values = step
            .checks
            .iter()
            .map(|(arg, _, _)| required(args, arg))
            .collect::<Result<Vec<_>, _>>()?;
        self.calls_in_order.push(tool.to_owned());
        for (value, (_, expected, miss)) in values.into_iter().zip(step.checks) {
            let given = as_py_str(value, "strip")?;
            if crate::py::py_strip(given).to_uppercase() != *expected {
                return Ok(miss.replacen("{}", given, 1));
            }
        }
        Ok(text(&format!("_compaction_chain.{}", step.result)).to_owned())
    }

    fn state_ok(&self) -> Option<bool> {
        let expected = constant("_compaction_chain._EXPECTED_ORDER")
            .as_array()
            .expect("the expected order is a list");
        Some(
            self.calls_in_order.len() == expected.len()
                && self
                    .calls_in_order
                    .iter()
                    .zip(expected)
                    .all(|(called, want)| want.as_str() == Some(called.as_str())),
        )
    }
}
