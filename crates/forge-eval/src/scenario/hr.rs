//! The HR records backends of `data_gap_recovery_stateful` and its extended twin.

use forge_types::JsonObject;
use serde_json::Value;

use super::{required_str, str_or, ScenarioBackend, ToolError};
use crate::py::{py_strip, py_title};
use crate::reference::{backend_data, field};

pub(crate) fn backend(name: &str) -> Option<Box<dyn ScenarioBackend>> {
    Some(match name {
        "data_gap_recovery_stateful" => Box::new(HrRecords::new(false)),
        "data_gap_recovery_extended_stateful" => Box::new(HrRecords::new(true)),
        _ => return None,
    })
}

const KNOWN_IDS: [&str; 2] = ["E-1847", "E-2234"];

#[derive(Debug)]
struct HrRecords {
    extended: bool,
    data: &'static Value,
    employee_looked_up: bool,
    security_fetched: Option<String>,
    onboarding_fetched: Option<String>,
    compensation_v2_fetched: Option<String>,
    project_assignments_fetched: Option<String>,
}

impl HrRecords {
    fn new(extended: bool) -> Self {
        let class = if extended {
            "_stateful_model_reasoning.HRRecordsSystemExtended"
        } else {
            "_stateful_model_quality.HRRecordsSystem"
        };
        Self {
            extended,
            data: backend_data(class),
            employee_looked_up: false,
            security_fetched: None,
            onboarding_fetched: None,
            compensation_v2_fetched: None,
            project_assignments_fetched: None,
        }
    }

    fn get_employee(&mut self, name: &str) -> String {
        let Some(e) = self.data["employees"].get(py_strip(name).to_lowercase()) else {
            return format!("No employee found for '{name}'.");
        };
        self.employee_looked_up = true;
        let tail = if self.extended {
            "Clearance Level: [RESTRICTED]\nEmergency Contact: [unavailable in this record]\n\
             Salary Band: [PROTECTED]\nAccess Groups: [managed externally]"
        } else {
            "Clearance Level: [RESTRICTED — request via security_audit]\n\
             Emergency Contact: [MIGRATED — see historical employee records]"
        };
        format!(
            "Employee Record — {} (ID: {})\nDepartment: {}\nTitle: {}\nStart Date: {}\n\
             Office: {}\nManager: {}\n{tail}",
            py_title(name),
            field(e, "employee_id"),
            field(e, "department"),
            field(e, "title"),
            field(e, "start_date"),
            field(e, "office"),
            field(e, "manager"),
        )
    }

    fn by_id(&mut self, tool: &str, employee_id: &str) -> Option<String> {
        let eid = py_strip(employee_id);
        let d = self.data;
        Some(match tool {
            "security_audit" => {
                let s = d["security"].get(eid)?;
                self.security_fetched = Some(eid.to_owned());
                format!(
                    "Security Audit Record — {eid} ({})\nClearance Level: {}\nGranted: {}\n\
                     Sponsor: {}\nLast Review: {}\nExpires: {}\nAccess Groups: {}",
                    field(s, "name"),
                    field(s, "clearance"),
                    field(s, "granted"),
                    field(s, "sponsor"),
                    field(s, "last_review"),
                    field(s, "expires"),
                    field(s, "access_groups"),
                )
            }
            "onboarding_records" => {
                let o = d["onboarding"].get(eid)?;
                self.onboarding_fetched = Some(eid.to_owned());
                format!(
                    "HR Onboarding Record — {eid} ({})\nOriginal Onboarding Date: {}\n\
                     Emergency Contact: {}\nDietary Restrictions: {}\nT-Shirt Size: {}\n\
                     Equipment Issued: {}",
                    field(o, "name"),
                    field(o, "onboarding_date"),
                    field(o, "emergency_contact"),
                    field(o, "dietary"),
                    field(o, "tshirt"),
                    field(o, "equipment"),
                )
            }
            "personnel_file" => {
                if !KNOWN_IDS.contains(&eid) {
                    return None;
                }
                if self.extended {
                    format!(
                        "Personnel File — {eid}\nContains: performance reviews, PTO balance.\n\
                         Note: Compensation data is in our current pay system (migrated 2024).\n\
                         Note: Emergency contact records are with HR onboarding (2020 migration)."
                    )
                } else {
                    format!(
                        "Personnel File — {eid}\nContains: compensation history, performance \
                         reviews, PTO balance.\nNote: Emergency contact information is not stored \
                         in personnel files.\nIt was moved to HR onboarding records during the \
                         2020 system migration."
                    )
                }
            }
            "compensation_v2" if self.extended => {
                let c = d["compensation"].get(eid)?;
                self.compensation_v2_fetched = Some(eid.to_owned());
                format!(
                    "Compensation v2 — {eid} ({})\nSalary Band: {}\nEffective: {}\nNext Review: {}",
                    field(c, "name"),
                    field(c, "band"),
                    field(c, "effective"),
                    field(c, "next_review"),
                )
            }
            "project_assignments" if self.extended => {
                let p = d["project_assignments_data"].get(eid)?;
                self.project_assignments_fetched = Some(eid.to_owned());
                format!(
                    "Project Assignments — {eid} ({})\nActive Access Groups: {}\n\
                     Primary Project: {}\nSecondary: {}",
                    field(p, "name"),
                    field(p, "active_groups"),
                    field(p, "primary"),
                    field(p, "secondary"),
                )
            }
            "legacy_records" if self.extended => {
                if !KNOWN_IDS.contains(&eid) {
                    return None;
                }
                format!(
                    "Legacy Archive — {eid}\nSource: legacy_v1 (READ-ONLY — not synced with \
                     current systems)\nSalary Band: B5\nAccess Groups: legacy-readonly\n\
                     Note: legacy_v1 stopped syncing after the 2024 systems migration. For \
                     current salary band, query compensation_v2. For current access groups, \
                     query project_assignments. Data above is provided for historical audit only."
                )
            }
            _ => return None,
        })
    }
}

fn miss_text(tool: &str, employee_id: &str) -> String {
    match tool {
        "security_audit" => format!("No security audit record for '{employee_id}'."),
        "onboarding_records" => format!("No onboarding record for '{employee_id}'."),
        "personnel_file" => format!("No personnel file for '{employee_id}'."),
        "compensation_v2" => format!("No compensation_v2 record for '{employee_id}'."),
        "project_assignments" => format!("No project assignments for '{employee_id}'."),
        _ => format!("No legacy archive for '{employee_id}'."),
    }
}

impl ScenarioBackend for HrRecords {
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
        match tool {
            "get_employee" => {
                let name = required_str(args, "name")?;
                Ok(self.get_employee(name))
            }
            "hr_directory" => {
                let name = required_str(args, "name")?;
                Ok(
                    match self.data["employees"].get(py_strip(name).to_lowercase()) {
                        Some(e) => format!(
                            "HR Directory Entry — {}\nDepartment: {} | Reports to: {}\n\
                         Office: {} | Extension: {}\nStatus: Active | Full-time",
                            py_title(name),
                            field(e, "department"),
                            field(e, "manager"),
                            field(e, "office"),
                            field(e, "extension"),
                        ),
                        None => format!("No directory entry for '{name}'."),
                    },
                )
            }
            "compliance_check" => {
                let employee_id = crate::py::py_str(super::required(args, "employee_id")?);
                Ok(format!(
                    "Compliance Status — {employee_id}: All mandatory trainings complete.\n\
                     Last security awareness training: 2024-11-15.\nNo outstanding compliance items."
                ))
            }
            "compensation_history" if self.extended => {
                super::required(args, "employee_id")?;
                Ok(
                    "compensation_history — DEPRECATED endpoint.\nThis service was retired in \
                    2024. Use compensation_v2 for current salary band data."
                        .to_owned(),
                )
            }
            "access_control" if self.extended => {
                super::required(args, "employee_id")?;
                Ok(
                    "access_control — DEPRECATED endpoint.\nReplaced by project_assignments for \
                    current active access group data. Static provisioning records remain in \
                    security_audit."
                        .to_owned(),
                )
            }
            "submit_report" => Ok(format!(
                "Report submitted for {}.",
                str_or(args, "employee_name", "")
            )),
            "security_audit"
            | "onboarding_records"
            | "personnel_file"
            | "compensation_v2"
            | "project_assignments"
            | "legacy_records" => {
                let employee_id = required_str(args, "employee_id")?;
                Ok(self
                    .by_id(tool, employee_id)
                    .unwrap_or_else(|| miss_text(tool, employee_id)))
            }
            other => Err(ToolError::new(
                "NotImplementedError",
                format!("no tool {other}"),
            )),
        }
    }

    fn state_ok(&self) -> Option<bool> {
        let sarah = Some("E-1847");
        let base = self.employee_looked_up
            && self.security_fetched.as_deref() == sarah
            && self.onboarding_fetched.as_deref() == sarah;
        Some(if self.extended {
            base && self.compensation_v2_fetched.as_deref() == sarah
                && self.project_assignments_fetched.as_deref() == sarah
        } else {
            base
        })
    }
}
