//! The success checks over the terminal call's arguments.
//!
//! All of them are plain substring tests (never word boundaries), with the per-scenario
//! normalisation of the reference: `check()` lower-cases and deletes commas; the others
//! lower-case the Python `str()` of the arguments and keep commas unless noted.

use forge_types::JsonObject;
use serde_json::Value;

use super::ValidateError;
use crate::py::py_str;
use crate::reference::constant;

/// The reference's `_check`: false for a non-string; otherwise lower-case, delete commas (so
/// "1,500" matches "1500"), and require every term as a substring.
pub fn check(text: Option<&Value>, terms: &[&str]) -> bool {
    let text = match text {
        Some(Value::String(text)) => text.as_str(),
        None => "",
        Some(_) => return false,
    };
    let normalized = text.to_lowercase().replace(',', "");
    terms.iter().all(|term| normalized.contains(term))
}

fn get_str(args: &JsonObject, key: &str) -> String {
    args.get(key).map_or_else(String::new, py_str)
}

fn any_of(text: &str, terms: &[&str]) -> bool {
    terms.iter().any(|term| text.contains(term))
}

fn string_list(key: &str) -> Vec<&'static str> {
    constant(key)
        .as_array()
        .expect("token lists are lists")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

pub(crate) fn argument_transformation(args: &JsonObject) -> bool {
    let ids = get_str(args, "transaction_ids");
    let total = get_str(args, "total_flagged_usd").replace('$', "");
    let vendor = get_str(args, "top_vendor").to_lowercase();
    string_list("_model_reasoning._ARGTRANS_REQUIRED_IDS")
        .iter()
        .all(|id| ids.contains(id))
        && any_of(
            &total,
            &string_list("_model_reasoning._ARGTRANS_TOTAL_TOKENS"),
        )
        && vendor.contains("wonka")
}

pub(crate) fn inconsistent_api_report(report: &Value) -> bool {
    let text = py_str(report).to_lowercase().replace(',', "");
    ["25500", "pass", "txn_count"]
        .iter()
        .all(|t| text.contains(t))
}

pub(crate) fn grounded_synthesis(args: &JsonObject) -> bool {
    let candidate = get_str(args, "candidate").to_lowercase();
    let rationale = get_str(args, "rationale").to_lowercase();
    any_of(&candidate, &["aisha", "nakamura"])
        && (any_of(
            &rationale,
            &string_list("_model_reasoning._GS_BLOCKER_TOKENS"),
        ) || any_of(
            &rationale,
            &string_list("_model_reasoning._GS_REJECTED_NAMES"),
        ))
}

fn compaction_chain(args: &JsonObject) -> Result<bool, ValidateError> {
    let summary = match args.get("summary") {
        None | Some(Value::Null | Value::Bool(false)) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => String::new(),
        Some(Value::Array(items)) if items.is_empty() => String::new(),
        Some(Value::Object(map)) if map.is_empty() => String::new(),
        Some(_) => {
            return Err(ValidateError {
                type_name: "AttributeError".to_owned(),
            })
        }
    };
    let text = summary.to_lowercase().replace(',', "");
    Ok(any_of(&text, &["mrn-84201", "84201"])
        && any_of(&text, &["9.2", "hba1c", "egfr 48", "egfr: 48", "48 ml"])
        && any_of(&text, &["cortical thinning", "nephropathy"])
        && any_of(&text, &["patel", "nephrology"])
        && any_of(&text, &["metformin", "sglt2", "empagliflozin"]))
}

fn data_gap(args: &JsonObject, extended: bool) -> bool {
    let text = format!(
        "{} {}",
        get_str(args, "employee_name"),
        get_str(args, "report")
    )
    .to_lowercase();
    let base = text.contains("engineering")
        && any_of(&text, &["l3", "confidential"])
        && text.contains("michael")
        && any_of(&text, &["867-5309", "spouse"]);
    if extended {
        base && text.contains("b7") && any_of(&text, &["payments-prod-v3", "internal-apis-v2"])
    } else {
        base
    }
}

/// The check of scenario `name` (a stateful twin uses its lambda's check).
pub(crate) fn validate(name: &str, args: &JsonObject) -> Result<bool, ValidateError> {
    let base = name.strip_suffix("_stateful").unwrap_or(name);
    Ok(match base {
        "basic_2step" => check(args.get("content"), &["paris", "capital"]),
        "sequential_3step" => check(args.get("findings"), &["23", "widget pro", "apac"]),
        "error_recovery" => check(args.get("content"), &["10", "record"]),
        "tool_selection" => check(args.get("answer"), &["read", "write", "admin"]),
        "argument_fidelity" => check(args.get("summary"), &["widget pro", "1500"]),
        "sequential_reasoning" => {
            let text = get_str(args, "findings").to_lowercase();
            text.contains("lisinopril")
                && any_of(&text, &["kidney", "ibuprofen"])
                && any_of(&text, &["hyperkalemia", "potassium"])
        }
        "conditional_routing" => {
            let text = format!("{} {}", get_str(args, "diagnosis"), get_str(args, "action"))
                .to_lowercase();
            any_of(&text, &["v4.0.0", "sdk", "gateway"])
                && any_of(&text, &["rollback", "revert", "roll back"])
                && any_of(&text, &["response", "schema", "transaction_id"])
        }
        "data_gap_recovery" => data_gap(args, false),
        "data_gap_recovery_extended" => data_gap(args, true),
        "relevance_detection" => match args.get("reason") {
            None => false,
            Some(Value::String(reason)) => !crate::py::py_strip(reason).is_empty(),
            Some(_) => {
                return Err(ValidateError {
                    type_name: "AttributeError".to_owned(),
                });
            }
        },
        "argument_transformation" => argument_transformation(args),
        "inconsistent_api_recovery" => {
            inconsistent_api_report(args.get("report").unwrap_or(&Value::String(String::new())))
        }
        "grounded_synthesis" => grounded_synthesis(args),
        _ if name.starts_with("compaction_chain") => return compaction_chain(args),
        _ => {
            return Err(ValidateError {
                type_name: format!("UnknownScenario({name})"),
            })
        }
    })
}
