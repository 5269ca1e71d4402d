//! The ideal call sequence of every scenario: one call per model turn, verified to pass the
//! scenario's checks. Scripted clients replay these to test the harness without a model.

use serde_json::{json, Value};

/// One call of a golden path.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldenCall {
    /// The tool.
    pub tool: &'static str,
    /// The arguments object.
    pub args: Value,
}

fn call(tool: &'static str, args: Value) -> GoldenCall {
    GoldenCall { tool, args }
}

/// The golden path of scenario `name` (a stateful twin replays its lambda's path), or `None` for
/// an unknown name.
pub fn golden_path(name: &str) -> Option<Vec<GoldenCall>> {
    let base = name.strip_suffix("_stateful").unwrap_or(name);
    Some(match base {
        "basic_2step" => vec![
            call("get_country_info", json!({"country": "France"})),
            call(
                "summarize",
                json!({"content": "The capital of France is Paris."}),
            ),
        ],
        "sequential_3step" => vec![
            call("fetch_sales_data", json!({"quarter": 4, "year": 2024})),
            call("analyze_sales", json!({})),
            call(
                "report",
                json!({"findings": "Revenue grew 23% YoY; top product Widget Pro; weakest region APAC."}),
            ),
        ],
        "error_recovery" => vec![
            call("fetch", json!({"count": "10"})),
            call("fetch", json!({"count": "0010"})),
            call("summarize", json!({"content": "Fetched 10 records."})),
        ],
        "tool_selection" => vec![
            call("lookup_user", json!({"name": "Alice"})),
            call("get_permissions", json!({"user_id": "U-1001"})),
            call(
                "respond",
                json!({"answer": "Alice has read, write and admin permissions."}),
            ),
        ],
        "argument_fidelity" => vec![
            call("lookup_entity", json!({"entity": "Widget Pro"})),
            call("fetch_details", json!({"entity_id": "ENT-4728"})),
            call(
                "present",
                json!({"summary": "Widget Pro (ENT-4728): 1,500 units sold."}),
            ),
        ],
        "sequential_reasoning" => vec![
            call("identify_patient", json!({"name": "John Doe"})),
            call("get_records", json!({"patient_id": "PT-7829"})),
            call(
                "check_interactions",
                json!({"medication": "lisinopril 10mg"}),
            ),
            call(
                "recommend",
                json!({"patient_id": "PT-7829", "findings": "On lisinopril: avoid ibuprofen (kidney damage) and potassium supplements (hyperkalemia)."}),
            ),
        ],
        "conditional_routing" => vec![
            call("get_alert", json!({"service": "payments-service"})),
            call("check_metrics", json!({"service": "payments-service"})),
            call("check_deployment", json!({"service": "payments-service"})),
            call(
                "diagnose",
                json!({"diagnosis": "Payment gateway SDK v4.0.0 changed the response schema (transaction_id moved).", "action": "Rollback to deploy-b82c1a (v3.8.1)."}),
            ),
        ],
        "data_gap_recovery" => vec![
            call("get_employee", json!({"name": "Sarah Chen"})),
            call("security_audit", json!({"employee_id": "E-1847"})),
            call("personnel_file", json!({"employee_id": "E-1847"})),
            call("onboarding_records", json!({"employee_id": "E-1847"})),
            call(
                "submit_report",
                json!({"employee_name": "Sarah Chen", "report": "Engineering; clearance L3 — Confidential; emergency contact Michael Chen (spouse) (555) 867-5309."}),
            ),
        ],
        "data_gap_recovery_extended" => vec![
            call("get_employee", json!({"name": "Sarah Chen"})),
            call("security_audit", json!({"employee_id": "E-1847"})),
            call("onboarding_records", json!({"employee_id": "E-1847"})),
            call("compensation_v2", json!({"employee_id": "E-1847"})),
            call("project_assignments", json!({"employee_id": "E-1847"})),
            call(
                "submit_report",
                json!({"employee_name": "Sarah Chen", "report": "Engineering; clearance L3 — Confidential; emergency contact Michael Chen (spouse) (555) 867-5309; salary band B7; access groups payments-prod-v3, internal-apis-v2."}),
            ),
        ],
        "argument_transformation" => vec![
            call("list_transactions", json!({"quarter": "Q4", "year": 2024})),
            call("get_approved_vendors", json!({})),
            call("get_vendor_details", json!({"vendor_name": "ACME Corp"})),
            call(
                "currency_convert",
                json!({"amount": 4800, "from_currency": "EUR", "to_currency": "USD"}),
            ),
            call(
                "submit_audit_report",
                json!({"transaction_ids": "TX-1001, TX-1005, TX-1006, TX-1008", "total_flagged_usd": "$28,980.00", "top_vendor": "Wonka Industries"}),
            ),
        ],
        "inconsistent_api_recovery" => vec![
            call("legacy_list_accounts", json!({"page": 1, "page_size": 10})),
            call("legacy_get_balance", json!({"account_id": "ACC-12345"})),
            call(
                "legacy_get_transactions",
                json!({"account_id": "ACC-12345", "since": "2024-10-01", "until": "2024-12-31"}),
            ),
            call(
                "legacy_categorize_spend",
                json!({"txn_id": 42, "category": "SVCS"}),
            ),
            call(
                "legacy_check_compliance",
                json!({"region": "us", "period": "2024-Q4"}),
            ),
            call(
                "legacy_aggregate_subtotal",
                json!({"amounts": "5000.00|12500.00|8000.00"}),
            ),
            call(
                "legacy_submit_audit",
                json!({"report": "{\"flagged_count\": 0, \"total_usd\": \"25500.00\", \"compliance_status\": \"PASS\", \"txn_count\": 3}"}),
            ),
        ],
        "grounded_synthesis" => vec![
            call("get_open_role", json!({})),
            call("get_candidate_pool", json!({})),
            call(
                "get_compatibility_check",
                json!({"candidate_name": "Sarah Chen"}),
            ),
            call(
                "get_compatibility_check",
                json!({"candidate_name": "James Patel"}),
            ),
            call("get_team_dynamics", json!({"candidate_name": "Diana Kim"})),
            call(
                "submit_hiring_decision",
                json!({"candidate": "Aisha Nakamura", "rationale": "Sarah has a non-compete, James needs visa sponsorship, Diana wants a lead role; Aisha can start now."}),
            ),
        ],
        "relevance_detection" => vec![call(
            "decline",
            json!({"reason": "None of the travel tools can compute a square root."}),
        )],
        _ if name.starts_with("compaction_chain") => vec![
            call("patient_lookup", json!({"patient_name": "Margaret Chen"})),
            call("pull_records", json!({"mrn": "MRN-84201"})),
            call("order_labs", json!({"encounter_id": "ENC-20250305"})),
            call("review_imaging", json!({"lab_id": "LAB-7718"})),
            call("request_referral", json!({"imaging_id": "IMG-3304"})),
            call("check_pharmacy", json!({"referral_id": "REF-5521"})),
            call("verify_insurance", json!({"patient_mrn": "MRN-84201"})),
            call(
                "request_prior_auth",
                json!({"plan_id": "PLAN-BC-4490", "referral_id": "REF-5521"}),
            ),
            call(
                "schedule_appointment",
                json!({"auth_id": "AUTH-9917", "referral_id": "REF-5521"}),
            ),
            call(
                "submit_treatment_plan",
                json!({"summary": "Margaret Chen (MRN-84201): HbA1c 9.2%, eGFR 48; imaging shows cortical thinning (early diabetic nephropathy); referred to Dr. Patel, nephrology; metformin dose concern, consider empagliflozin (SGLT2); appointment APPT-20250312."}),
            ),
        ],
        _ => return None,
    })
}
