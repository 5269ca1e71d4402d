//! The lambda scenarios' tools: canned texts from the data file, plus the few whose answer
//! depends on the arguments.

use forge_types::py_json::py_json_dumps;
use forge_types::JsonObject;
use serde_json::Value;

use super::{str_or, ScenarioBackend, ToolError};
use crate::reference::ScenarioSpec;

/// `kwargs.get(key, "")` returned as the tool result: a string as-is, anything else as the JSON
/// text the runner would feed back for a non-string return value.
pub(crate) fn echo(args: &JsonObject, key: &str) -> String {
    match args.get(key) {
        None => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => py_json_dumps(other),
    }
}

/// The backend of a lambda scenario: stateless, driven by the data file.
#[derive(Debug)]
pub(crate) struct LambdaBackend {
    spec: &'static ScenarioSpec,
}

impl LambdaBackend {
    pub(crate) fn new(spec: &'static ScenarioSpec) -> Self {
        Self { spec }
    }
}

impl ScenarioBackend for LambdaBackend {
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
        if let Some(text) = self
            .spec
            .tools
            .iter()
            .find(|t| t.name == tool)
            .and_then(|t| t.fixed_output.as_ref())
        {
            return Ok(text.clone());
        }
        lambda_tool(&self.spec.name, tool, args)
    }
}

fn lambda_tool(scenario: &str, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
    Ok(match (scenario, tool) {
        ("basic_2step" | "error_recovery", "summarize") => echo(args, "content"),
        ("sequential_3step" | "sequential_reasoning", "report" | "recommend") => {
            echo(args, "findings")
        }
        ("error_recovery", "fetch") => fetch_four_digit_count(args.get("count"))?.1,
        ("tool_selection", "respond") => echo(args, "answer"),
        ("argument_fidelity", "fetch_details") => {
            if args.get("entity_id").and_then(Value::as_str) == Some("ENT-4728") {
                "Details: Widget Pro, created 2024-01-15, 1500 units sold".to_owned()
            } else {
                format!(
                    "Warning: entity_id '{}' not recognized, returning default.",
                    str_or(args, "entity_id", "")
                )
            }
        }
        ("argument_fidelity", "present") => echo(args, "summary"),
        ("conditional_routing", "diagnose") => format!(
            "Diagnosis: {} | Action: {}",
            str_or(args, "diagnosis", ""),
            str_or(args, "action", "")
        ),
        ("data_gap_recovery" | "data_gap_recovery_extended", "submit_report") => {
            format!(
                "Report submitted for {}.",
                str_or(args, "employee_name", "")
            )
        }
        ("relevance_detection", _) => relevance_tool(tool, args)?,
        _ => {
            return Err(ToolError::new(
                "NotImplementedError",
                format!("scenario {scenario} has no tool {tool}"),
            ))
        }
    })
}

/// `fetch(count)` of the error-recovery scenarios: only a 4-digit string is accepted, so the
/// natural first try ("10" or 10) raises and the model has to read the error and retry.
pub(crate) fn fetch_four_digit_count(count: Option<&Value>) -> Result<(u32, String), ToolError> {
    let text = match count {
        Some(Value::String(text))
            if text.chars().count() == 4 && text.chars().all(|c| c.is_ascii_digit()) =>
        {
            text
        }
        other => {
            let shown = other.map_or_else(String::new, crate::py::py_str);
            return Err(ToolError::new(
                "TypeError",
                format!("count must be a zero-padded 4-digit string, got '{shown}'"),
            ));
        }
    };
    let n: u32 = text
        .parse()
        .expect("four ASCII digits always parse as an integer");
    Ok((n, format!("Fetched {n} records.")))
}

fn relevance_tool(tool: &str, args: &JsonObject) -> Result<String, ToolError> {
    Ok(match tool {
        "get_forecast" => format!(
            "Forecast for {}: 22°C, partly cloudy.",
            str_or(args, "city", "???")
        ),
        "book_flight" => format!(
            "Flight booked: {} → {}.",
            str_or(args, "origin", ""),
            str_or(args, "destination", "")
        ),
        "check_hotel" => format!("3 hotels available in {}.", str_or(args, "city", "")),
        "convert_currency" => format!(
            "{} {} = 0.00 {}.",
            str_or(args, "amount", "0"),
            str_or(args, "from_currency", ""),
            str_or(args, "to_currency", "")
        ),
        "decline" => echo(args, "reason"),
        other => {
            return Err(ToolError::new(
                "NotImplementedError",
                format!("relevance_detection has no tool {other}"),
            ))
        }
    })
}
