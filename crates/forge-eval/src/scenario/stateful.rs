//! Backends of the stateful plumbing, model-quality and relevance twins.
//!
//! Lookup rule throughout: names are trimmed and lower-cased and must equal a full key; IDs are
//! trimmed and case-sensitive. State fields record the *last* successful lookup, so a later call
//! for a decoy overwrites them.

use forge_types::JsonObject;
use serde_json::Value;

use super::lambda::{echo, fetch_four_digit_count};
use super::{required, required_str, str_or, ScenarioBackend, ToolError};
use crate::py::{as_py_str, py_str, py_strip, py_title};
use crate::reference::{backend_data, field};

pub(crate) fn backend(name: &str) -> Option<Box<dyn ScenarioBackend>> {
    Some(match name {
        "basic_2step_stateful" => Box::new(CountryFacts::default()),
        "sequential_3step_stateful" => Box::new(SalesPipeline::default()),
        "error_recovery_stateful" => Box::new(RecordFetcher::default()),
        "tool_selection_stateful" => Box::new(UserPermissions::default()),
        "argument_fidelity_stateful" => Box::new(EntityRegistry::default()),
        "sequential_reasoning_stateful" => Box::new(MedicalRecords::default()),
        "conditional_routing_stateful" => Box::new(IncidentTriage::default()),
        "relevance_detection_stateful" => Box::new(TravelBooking::default()),
        _ => return None,
    })
}

fn unknown(tool: &str) -> ToolError {
    ToolError::new("NotImplementedError", format!("no tool {tool}"))
}

#[derive(Debug, Default)]
struct CountryFacts {
    last_retrieved: Option<String>,
}

impl ScenarioBackend for CountryFacts {
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
        match tool {
            "get_country_info" => {
                let country = required_str(args, "country")?;
                let data = &backend_data("_stateful_plumbing.CountryFactsDB")["data"];
                match data
                    .get(py_strip(country).to_lowercase())
                    .and_then(Value::as_str)
                {
                    Some(text) => {
                        self.last_retrieved = Some(text.to_owned());
                        Ok(text.to_owned())
                    }
                    None => Ok(format!("No entry found for '{country}'.")),
                }
            }
            "summarize" => Ok(echo(args, "content")),
            other => Err(unknown(other)),
        }
    }

    fn state_ok(&self) -> Option<bool> {
        Some(self.last_retrieved.is_some())
    }
}

#[derive(Debug, Default)]
struct SalesPipeline {
    loaded: bool,
    analysis: Option<String>,
}

/// Python dict lookup with a tuple key compares numbers by value (4 == 4.0) but never a string
/// with a number.
fn numeric_equals(value: &Value, expected: f64) -> bool {
    match value {
        Value::Number(number) => number.as_f64() == Some(expected),
        Value::Bool(flag) => f64::from(u8::from(*flag)) == expected,
        _ => false,
    }
}

impl ScenarioBackend for SalesPipeline {
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
        let data = &backend_data("_stateful_plumbing.SalesPipeline")["datasets"]["4|2024"];
        match tool {
            "fetch_sales_data" => {
                let quarter = required(args, "quarter")?;
                let year = required(args, "year")?;
                if numeric_equals(quarter, 4.0) && numeric_equals(year, 2024.0) {
                    self.loaded = true;
                    Ok(field(data, "summary").to_owned())
                } else {
                    Ok(format!(
                        "No data found for Q{} {}.",
                        py_str(quarter),
                        py_str(year)
                    ))
                }
            }
            "analyze_sales" => {
                if !self.loaded {
                    return Ok("Error: no data loaded. Call fetch_sales_data first.".to_owned());
                }
                let analysis = field(data, "analysis").to_owned();
                self.analysis = Some(analysis.clone());
                Ok(analysis)
            }
            "report" => Ok(echo(args, "findings")),
            other => Err(unknown(other)),
        }
    }

    fn state_ok(&self) -> Option<bool> {
        Some(self.loaded && self.analysis.is_some())
    }
}

#[derive(Debug, Default)]
struct RecordFetcher {
    fetched_count: Option<u32>,
}

impl ScenarioBackend for RecordFetcher {
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
        match tool {
            "fetch" => {
                let (count, text) = fetch_four_digit_count(Some(required(args, "count")?))?;
                self.fetched_count = Some(count);
                Ok(text)
            }
            "summarize" => Ok(echo(args, "content")),
            other => Err(unknown(other)),
        }
    }

    fn state_ok(&self) -> Option<bool> {
        Some(self.fetched_count == Some(10))
    }
}

#[derive(Debug, Default)]
struct UserPermissions {
    looked_up: bool,
    perms_fetched: Option<Vec<String>>,
}

impl ScenarioBackend for UserPermissions {
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
        let data = backend_data("_stateful_model_quality.UserPermissionsDB");
        match tool {
            "search_web" => Ok("No results found.".to_owned()),
            "read_file" => Ok("Error: file not found.".to_owned()),
            "list_directory" => Ok("Empty directory.".to_owned()),
            "run_command" => Ok("Permission denied.".to_owned()),
            "send_email" => Ok("Email sent.".to_owned()),
            "lookup_user" => {
                let name = required_str(args, "name")?;
                match data["users"].get(py_strip(name).to_lowercase()) {
                    Some(user) => {
                        self.looked_up = true;
                        Ok(format!(
                            "User: {}, Role: {}, Team: {}, ID: {}",
                            py_title(name),
                            field(user, "role"),
                            field(user, "team"),
                            field(user, "user_id")
                        ))
                    }
                    None => Ok(format!("No user found for '{name}'.")),
                }
            }
            "get_permissions" => {
                let user_id = required_str(args, "user_id")?;
                match data["permissions"]
                    .get(py_strip(user_id))
                    .and_then(Value::as_array)
                {
                    Some(perms) => {
                        let perms: Vec<String> = perms
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect();
                        let text = format!("Permissions: {} on repo forge-dev", perms.join(", "));
                        self.perms_fetched = Some(perms);
                        Ok(text)
                    }
                    None => Ok(format!("No permissions found for '{user_id}'.")),
                }
            }
            "respond" => Ok(echo(args, "answer")),
            other => Err(unknown(other)),
        }
    }

    fn state_ok(&self) -> Option<bool> {
        Some(
            self.looked_up
                && self.perms_fetched.as_deref()
                    == Some(&["read".to_owned(), "write".to_owned(), "admin".to_owned()][..]),
        )
    }
}

#[derive(Debug, Default)]
struct EntityRegistry {
    looked_up: bool,
    fetched_name: Option<String>,
}

impl ScenarioBackend for EntityRegistry {
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
        let data = backend_data("_stateful_model_quality.EntityRegistry");
        match tool {
            "lookup_entity" => {
                let entity = required_str(args, "entity")?;
                match data["entities"].get(py_strip(entity).to_lowercase()) {
                    Some(e) => {
                        self.looked_up = true;
                        Ok(format!(
                            "Entity ID: {}, Status: {}, Owner: {}",
                            field(e, "entity_id"),
                            field(e, "status"),
                            field(e, "owner")
                        ))
                    }
                    None => Ok(format!("No entity found for '{entity}'.")),
                }
            }
            "fetch_details" => {
                let entity_id = required_str(args, "entity_id")?;
                match data["details"].get(py_strip(entity_id)) {
                    Some(d) => {
                        self.fetched_name = Some(field(d, "name").to_owned());
                        Ok(format!(
                            "Details: {}, created {}, {} units sold",
                            field(d, "name"),
                            field(d, "created"),
                            py_str(&d["units_sold"])
                        ))
                    }
                    None => Ok(format!("No details found for entity ID '{entity_id}'.")),
                }
            }
            "present" => Ok(echo(args, "summary")),
            other => Err(unknown(other)),
        }
    }

    fn state_ok(&self) -> Option<bool> {
        Some(self.looked_up && self.fetched_name.as_deref() == Some("Widget Pro"))
    }
}

#[derive(Debug, Default)]
struct MedicalRecords {
    identified: Option<String>,
    records_fetched: Option<String>,
    interactions_checked: Option<String>,
}

impl ScenarioBackend for MedicalRecords {
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
        let data = backend_data("_stateful_model_quality.MedicalRecordsDB");
        match tool {
            "identify_patient" => {
                let name = required_str(args, "name")?;
                match data["patients"]
                    .get(py_strip(name).to_lowercase())
                    .and_then(Value::as_str)
                {
                    Some(pid) => {
                        self.identified = Some(pid.to_owned());
                        Ok(field(&data["patient_info"], pid).to_owned())
                    }
                    None => Ok(format!("No patient found for '{name}'.")),
                }
            }
            "get_records" => {
                let patient_id = required_str(args, "patient_id")?;
                let pid = py_strip(patient_id);
                match data["record_info"].get(pid).and_then(Value::as_str) {
                    Some(text) => {
                        self.records_fetched = Some(pid.to_owned());
                        Ok(text.to_owned())
                    }
                    None => Ok(format!("No records found for patient ID '{patient_id}'.")),
                }
            }
            "check_interactions" => {
                let medication = required_str(args, "medication")?;
                let lowered = py_strip(medication).to_lowercase();
                let key = lowered
                    .split_whitespace()
                    .next()
                    .ok_or_else(|| ToolError::new("IndexError", "list index out of range"))?;
                match data["interaction_info"].get(key).and_then(Value::as_str) {
                    Some(text) => {
                        self.interactions_checked = Some(key.to_owned());
                        Ok(text.to_owned())
                    }
                    None => Ok(format!("No interaction data found for '{medication}'.")),
                }
            }
            "recommend" => Ok(echo(args, "findings")),
            other => Err(unknown(other)),
        }
    }

    fn state_ok(&self) -> Option<bool> {
        Some(
            self.identified.as_deref() == Some("PT-7829")
                && self.records_fetched.as_deref() == Some("PT-7829")
                && self.interactions_checked.as_deref() == Some("lisinopril"),
        )
    }
}

#[derive(Debug, Default)]
struct IncidentTriage {
    alert_checked: Option<String>,
    metrics_checked: Option<String>,
    logs_checked: Option<String>,
    deploy_checked: Option<String>,
}

/// The reference's fuzzy service resolution: exact key, key + "-service", then the same two after
/// deleting every "the " and every "service".
fn resolve_service(service: &str) -> Option<&'static str> {
    let alerts = backend_data("_stateful_model_quality.IncidentTriage")["alerts"]
        .as_object()
        .expect("IncidentTriage.alerts is an object in the data file");
    let find = |key: &str| alerts.get_key_value(key).map(|(k, _)| k.as_str());
    let mut key = py_strip(service).to_lowercase();
    if let Some(found) = find(&key).or_else(|| find(&format!("{key}-service"))) {
        return Some(found);
    }
    for word in ["the ", "service"] {
        key = py_strip(&key.replace(word, "")).to_owned();
    }
    find(&key).or_else(|| find(&format!("{key}-service")))
}

impl ScenarioBackend for IncidentTriage {
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
        let data = backend_data("_stateful_model_quality.IncidentTriage");
        if tool == "diagnose" {
            return Ok(format!(
                "Diagnosis: {} | Action: {}",
                str_or(args, "diagnosis", ""),
                str_or(args, "action", "")
            ));
        }
        let (table, slot, miss) = match tool {
            "get_alert" => (
                "alerts",
                &mut self.alert_checked,
                "No alert found for service",
            ),
            "check_metrics" => (
                "metrics",
                &mut self.metrics_checked,
                "No metrics found for service",
            ),
            "check_logs" => ("logs", &mut self.logs_checked, "No logs found for service"),
            "check_deployment" => (
                "deploys",
                &mut self.deploy_checked,
                "No deployment info for service",
            ),
            other => return Err(unknown(other)),
        };
        let service = required_str(args, "service")?;
        let Some(key) = resolve_service(service) else {
            return Ok(format!("{miss} '{service}'."));
        };
        *slot = Some(key.to_owned());
        if table != "alerts" {
            return Ok(field(&data[table], key).to_owned());
        }
        let a = &data["alerts"][key];
        Ok(format!(
            "Alert: {} — {key}\nTriggered: {}\nType: {}\nCurrent error rate: {} (threshold: {})\n\
             Affected endpoint: {}\nDuration: {} minutes\nLast deploy: {}\n\
             Previous alert on this service: {}",
            field(a, "alert_id"),
            field(a, "triggered"),
            field(a, "type"),
            field(a, "error_rate"),
            field(a, "threshold"),
            field(a, "endpoint"),
            py_str(&a["duration_min"]),
            field(a, "last_deploy"),
            field(a, "previous_alert"),
        ))
    }

    fn state_ok(&self) -> Option<bool> {
        let payments = Some("payments-service");
        Some(
            self.alert_checked.as_deref() == payments
                && self.metrics_checked.as_deref() == payments
                && self.deploy_checked.as_deref() == payments,
        )
    }
}

#[derive(Debug, Default)]
struct TravelBooking {
    calls_executed: usize,
}

impl ScenarioBackend for TravelBooking {
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
        let text = match tool {
            "get_forecast" => {
                let city = required_str(args, "city")?;
                format!("Forecast for {city}: 22°C, partly cloudy.")
            }
            "book_flight" => {
                let origin = required_str(args, "origin")?;
                let destination = required_str(args, "destination")?;
                format!("Flight booked: {origin} → {destination}.")
            }
            "check_hotel" => {
                let city = required(args, "city")?;
                let checkin = required(args, "checkin")?;
                let city = as_py_str(city, "strip")?;
                format!("3 hotels available in {city} for {}.", py_str(checkin))
            }
            "convert_currency" => {
                let amount = required(args, "amount")?;
                let from = required(args, "from_currency")?;
                let to = required(args, "to_currency")?;
                as_py_str(from, "upper")?;
                as_py_str(to, "upper")?;
                format!("{} {} = 0.00 {}.", py_str(amount), py_str(from), py_str(to))
            }
            "decline" => return Ok(echo(args, "reason")),
            other => return Err(unknown(other)),
        };
        self.calls_executed += 1;
        Ok(text)
    }

    fn state_ok(&self) -> Option<bool> {
        Some(self.calls_executed == 0)
    }
}
