//! Scenario behaviour without a model or a runner: golden paths replayed straight into the
//! backends, and the tool behaviours and checks the reference pins.
#![allow(clippy::unwrap_used)] // tests may unwrap; helpers outside #[test] fns need this too

use forge_eval::scenario::{all_scenarios, golden_path, scenario, Suite, ToolError};
use forge_types::JsonObject;
use serde_json::{json, Value};

fn obj(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn registry_has_the_thirty_reference_scenarios_in_order() {
    let names: Vec<&str> = all_scenarios().iter().map(|s| s.name()).collect();
    assert_eq!(names.len(), 30);
    assert_eq!(names[0], "basic_2step");
    assert_eq!(names[12], "relevance_detection");
    assert_eq!(names[13], "basic_2step_stateful");
    assert_eq!(names[29], "compaction_chain_p3");
    let stateful = all_scenarios().iter().filter(|s| s.is_stateful()).count();
    assert_eq!(stateful, 17, "13 twins + 4 chain scenarios");
    let pressure: Vec<&str> = all_scenarios()
        .iter()
        .filter(|s| s.is_compaction_pressure())
        .map(|s| s.name())
        .collect();
    assert_eq!(
        pressure,
        [
            "compaction_chain_p1",
            "compaction_chain_p2",
            "compaction_chain_p3"
        ]
    );
    let budgets: Vec<u32> = [
        "compaction_chain_p1",
        "compaction_chain_p2",
        "compaction_chain_p3",
    ]
    .iter()
    .map(|n| scenario(n).unwrap().spec().budget_tokens)
    .collect();
    assert_eq!(budgets, [3600, 2200, 1536]);
}

#[test]
fn limits_ideals_and_suites_match_the_reference_table() {
    let cases = [
        ("basic_2step", 15, 2, Suite::Og18),
        ("error_recovery", 15, 2, Suite::Og18),
        ("error_recovery_stateful", 15, 3, Suite::Og18),
        ("sequential_reasoning", 15, 4, Suite::Og18),
        ("relevance_detection", 5, 1, Suite::Og18),
        (
            "data_gap_recovery_extended",
            20,
            8,
            Suite::AdvancedReasoning,
        ),
        (
            "argument_transformation_stateful",
            15,
            5,
            Suite::AdvancedReasoning,
        ),
        ("grounded_synthesis", 20, 10, Suite::AdvancedReasoning),
        ("compaction_chain_p2", 20, 10, Suite::CompactionChain),
    ];
    for (name, max_iterations, ideal, suite) in cases {
        let s = scenario(name).unwrap();
        assert_eq!(s.spec().max_iterations, max_iterations, "{name}");
        assert_eq!(s.ideal_iterations(), ideal, "{name}");
        assert_eq!(s.suite(), suite, "{name}");
    }
}

#[test]
fn every_golden_path_passes_its_checks_when_replayed_into_the_backend() {
    for s in all_scenarios() {
        let path =
            golden_path(s.name()).unwrap_or_else(|| panic!("{} has a golden path", s.name()));
        let mut backend = s.new_backend();
        let mut last = None;
        for call in path {
            let args = obj(call.args);
            let result = backend.call(call.tool, &args);
            if let Err(err) = &result {
                assert!(
                    s.name().starts_with("error_recovery") && err.type_name == "TypeError",
                    "{}: {} raised {err}",
                    s.name(),
                    call.tool
                );
            }
            last = Some((call.tool, args));
        }
        let (tool, args) = last.unwrap();
        assert_eq!(tool, s.spec().terminal_tool, "{}", s.name());
        assert_eq!(s.validate(&args), Ok(true), "{}", s.name());
        let expected_state = s.is_stateful().then_some(true);
        assert_eq!(backend.state_ok(), expected_state, "{}", s.name());
    }
}

/// `(scenario, calls before, tool, args, expected result)`.
type BehaviourCase = (
    &'static str,
    Vec<(&'static str, Value)>,
    &'static str,
    Value,
    Result<&'static str, (&'static str, &'static str)>,
);

fn check_behaviour(cases: Vec<BehaviourCase>) {
    for (name, before, tool, args, expected) in cases {
        let s = scenario(name).unwrap();
        let mut backend = s.new_backend();
        for (t, a) in before {
            let _ = backend.call(t, &obj(a));
        }
        let got = backend.call(tool, &obj(args.clone()));
        let got = got
            .as_ref()
            .map(String::as_str)
            .map_err(|ToolError { type_name, message }| (type_name.as_str(), message.as_str()));
        assert_eq!(got, expected, "{name}: {tool}({args})");
    }
}

#[test]
fn tool_behaviours_follow_the_reference() {
    check_behaviour(vec![
        ("error_recovery", vec![], "fetch", json!({"count": 10}),
         Err(("TypeError", "count must be a zero-padded 4-digit string, got '10'"))),
        ("error_recovery", vec![], "fetch", json!({"count": "0010"}), Ok("Fetched 10 records.")),
        ("basic_2step_stateful", vec![], "get_country_info", json!({}), Err(("KeyError", "'country'"))),
        ("basic_2step_stateful", vec![], "get_country_info", json!({"country": 7}),
         Err(("AttributeError", "'int' object has no attribute 'strip'"))),
        ("basic_2step_stateful", vec![], "get_country_info", json!({"country": " Germany "}),
         Ok("No entry found for ' Germany '.")),
        ("sequential_3step_stateful", vec![], "fetch_sales_data", json!({"quarter": "4", "year": 2024}),
         Ok("No data found for Q4 2024.")),
        ("sequential_3step_stateful", vec![], "fetch_sales_data", json!({"quarter": 4.0, "year": 2024}),
         Ok("Dataset: 150 records, 12 columns, covering Q1–Q4 2024 sales data.")),
        ("sequential_3step_stateful", vec![], "analyze_sales", json!({}),
         Ok("Error: no data loaded. Call fetch_sales_data first.")),
        ("tool_selection_stateful", vec![], "lookup_user", json!({"name": "ALICE"}),
         Ok("User: Alice, Role: Engineer, Team: Platform, ID: U-1001")),
        ("argument_fidelity", vec![], "fetch_details", json!({"entity_id": "ent-4728"}),
         Ok("Warning: entity_id 'ent-4728' not recognized, returning default.")),
        ("sequential_reasoning_stateful", vec![], "check_interactions", json!({"medication": "  "}),
         Err(("IndexError", "list index out of range"))),
        ("conditional_routing_stateful", vec![], "check_logs", json!({"service": "the payments-service"}),
         Ok("No logs found for service 'the payments-service'.")),
        ("relevance_detection", vec![], "convert_currency", json!({}), Ok("0  = 0.00 .")),
        ("relevance_detection_stateful", vec![], "check_hotel", json!({"city": "Paris", "checkin": "2025-01-01"}),
         Ok("3 hotels available in Paris for 2025-01-01.")),
        ("argument_transformation", vec![], "currency_convert",
         json!({"amount": "4800", "from_currency": "eur", "to_currency": "usd"}),
         Ok("Conversion: 4,800.00 EUR = 5,280.00 USD (rate: 1 EUR = 1.1 USD)")),
        ("argument_transformation", vec![], "list_transactions", json!({"quarter": "q3", "year": "2024"}),
         Ok("No transactions found for Q3 2024.")),
        ("argument_transformation_stateful", vec![], "list_transactions", json!({"quarter": "q3", "year": 2024}),
         Ok("No transactions found for q3 2024.")),
        ("argument_transformation", vec![], "list_transactions", json!({"quarter": "Q4", "year": "twenty"}),
         Err(("ValueError", "invalid literal for int() with base 10: 'twenty'"))),
        ("inconsistent_api_recovery", vec![], "legacy_categorize_spend", json!({"txn_id": "TXN/00042", "category": "SVCS"}),
         Ok("ERROR: txn_id 'TXN/00042' must be the numeric component as int (for 'TXN/00042' pass 42, not the full string).")),
        ("inconsistent_api_recovery", vec![], "legacy_categorize_spend", json!({"txn_id": 43.9, "category": "HRDW"}),
         Ok("Categorized TXN/00043 (HRDW): amount=12500.00 USD; bucket=GL-2400.")),
        ("inconsistent_api_recovery", vec![], "legacy_check_compliance", json!({"region": "US", "period": "2024-Q4"}),
         Ok("ERROR: region 'US' must be lowercase 2-letter ISO code (e.g. 'us', 'gb').")),
        ("inconsistent_api_recovery", vec![], "legacy_check_compliance", json!({"region": "us", "period": "Q4 2024"}),
         Ok("ERROR: period 'Q4 2024' must be ISO quarter notation YYYY-QN (e.g. '2024-Q4'). Dates and Unix timestamps are not accepted here.")),
        ("inconsistent_api_recovery_stateful", vec![], "legacy_check_compliance", json!({"region": "us", "period": "Q4 2024"}),
         Ok("ERROR: period 'Q4 2024' must be ISO quarter notation YYYY-QN (e.g. '2024-Q4').")),
        ("inconsistent_api_recovery", vec![], "legacy_list_accounts", json!({"offset": 0, "limit": 10}),
         Ok("ERROR: legacy_list_accounts requires 'page' and 'page_size' (not offset/limit).")),
        ("inconsistent_api_recovery", vec![], "legacy_aggregate_subtotal", json!({"amounts": "5000, 12500"}),
         Ok("ERROR: amounts '5000, 12500' must be pipe-separated decimal dollars (e.g. '1000.00|2500.00'). Lists, comma/space-separated values, and cent values are not accepted.")),
        ("grounded_synthesis", vec![], "get_skill_summary", json!({"candidate_name": " Nobody "}),
         Ok("No candidate found matching 'Nobody'.")),
        ("grounded_synthesis_stateful", vec![], "get_skill_summary", json!({"candidate_name": " Nobody "}),
         Ok("No candidate found matching ' Nobody '.")),
        ("compaction_chain_p1", vec![], "pull_records", json!({"mrn": "mrn-99999"}),
         Ok("No records for MRN 'mrn-99999'. Expected: MRN-84201.")),
        ("compaction_chain_baseline", vec![], "request_prior_auth", json!({"plan_id": "PLAN-BC-4490"}),
         Err(("KeyError", "'referral_id'"))),
    ]);
}

#[test]
fn stateful_checks_catch_decoys_and_retries() {
    let run = |name: &str, calls: Vec<(&str, Value)>| {
        let s = scenario(name).unwrap();
        let mut backend = s.new_backend();
        for (tool, args) in calls {
            let _ = backend.call(tool, &obj(args));
        }
        backend.state_ok()
    };
    // The last lookup wins: a later decoy overwrites the right patient.
    assert_eq!(
        run(
            "sequential_reasoning_stateful",
            vec![
                ("identify_patient", json!({"name": "John Doe"})),
                ("get_records", json!({"patient_id": "PT-7829"})),
                ("check_interactions", json!({"medication": "lisinopril"})),
                ("identify_patient", json!({"name": "Jane Smith"})),
            ]
        ),
        Some(false)
    );
    // A retried chain step fails the chain even when every ID is eventually right.
    let mut chain: Vec<(&str, Value)> = golden_path("compaction_chain_baseline")
        .unwrap()
        .into_iter()
        .map(|c| (c.tool, c.args))
        .collect();
    chain.insert(1, ("pull_records", json!({"mrn": "84201"})));
    assert_eq!(run("compaction_chain_baseline", chain), Some(false));
    // A stray travel call fails the stateful relevance twin.
    assert_eq!(
        run(
            "relevance_detection_stateful",
            vec![
                ("get_forecast", json!({"city": "Paris"})),
                ("decline", json!({"reason": "not travel"})),
            ]
        ),
        Some(false)
    );
    // Reasoning without the tools fails the audit twin even with the right answer.
    assert_eq!(
        run(
            "argument_transformation_stateful",
            vec![
                ("list_transactions", json!({"quarter": "Q4", "year": 2024})),
                ("get_approved_vendors", json!({})),
                (
                    "submit_audit_report",
                    json!({"transaction_ids": "TX-1001, TX-1005, TX-1006, TX-1008",
                                           "total_flagged_usd": "28980", "top_vendor": "Wonka"})
                ),
            ]
        ),
        Some(false)
    );
}

#[test]
fn success_checks_keep_the_reference_normalisation() {
    let cases: Vec<(&str, Value, Result<bool, &str>)> = vec![
        (
            "argument_fidelity",
            json!({"summary": "Widget Pro sold 1,500 units"}),
            Ok(true),
        ),
        ("basic_2step", json!({"content": 42}), Ok(false)),
        ("basic_2step", json!({}), Ok(false)),
        (
            "argument_transformation",
            json!({"transaction_ids": "TX-1001,TX-1005,TX-1006,TX-1008,TX-1009",
            "total_flagged_usd": "$28,980", "top_vendor": "WONKA"}),
            Ok(true),
        ),
        (
            "argument_transformation",
            json!({"transaction_ids": "tx-1001, tx-1005, tx-1006, tx-1008",
            "total_flagged_usd": "28980", "top_vendor": "Wonka"}),
            Ok(false),
        ),
        (
            "grounded_synthesis",
            json!({"candidate": "Aisha", "rationale": "best option"}),
            Ok(true),
        ),
        (
            "grounded_synthesis",
            json!({"candidate": "Sarah Chen", "rationale": "non-compete"}),
            Ok(false),
        ),
        ("relevance_detection", json!({"reason": "   "}), Ok(false)),
        (
            "relevance_detection",
            json!({"reason": ["no"]}),
            Err("AttributeError"),
        ),
        ("compaction_chain_p3", json!({"summary": null}), Ok(false)),
        (
            "compaction_chain_p3",
            json!({"summary": 5}),
            Err("AttributeError"),
        ),
        (
            "inconsistent_api_recovery",
            json!({"report": {"txn_count": 3, "total_usd": "25,500.00", "status": "PASS"}}),
            Ok(true),
        ),
    ];
    for (name, args, expected) in cases {
        let got = scenario(name).unwrap().validate(&obj(args.clone()));
        let got = got.as_ref().map(|b| *b).map_err(|e| e.type_name.as_str());
        assert_eq!(got, expected, "{name}: {args}");
    }
}
