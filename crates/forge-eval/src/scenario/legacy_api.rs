//! The legacy audit APIs of `inconsistent_api_recovery` (lambda) and its stateful twin.
//!
//! Every tool breaks a different convention (ID format, dates, units, casing, separators) and
//! none raises: each failure is a returned "ERROR: …" whose wording teaches the fix.

use forge_types::JsonObject;
use serde_json::Value;

use super::{str_or, ScenarioBackend, ToolError};
use crate::py::{py_float, py_int, py_isdigit, py_str, py_strip};
use crate::reference::constant;

pub(crate) fn backend(name: &str) -> Option<Box<dyn ScenarioBackend>> {
    Some(match name {
        "inconsistent_api_recovery" => Box::new(LegacyApi::new(false)),
        "inconsistent_api_recovery_stateful" => Box::new(LegacyApi::new(true)),
        _ => return None,
    })
}

fn accounts() -> &'static [Value] {
    constant("_model_reasoning._LEGACY_ACCOUNTS")
        .as_array()
        .expect("the account table is a list")
}

fn acme_transactions() -> &'static [Value] {
    constant("_model_reasoning._LEGACY_TRANSACTIONS_ACME")
        .as_array()
        .expect("the transaction table is a list")
}

fn is_iso_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

fn is_iso_quarter(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 7
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && &bytes[4..6] == b"-Q"
        && (b'1'..=b'4').contains(&bytes[6])
}

fn is_lower_alpha_pair(text: &str) -> bool {
    text.chars().count() == 2
        && text.chars().all(char::is_alphabetic)
        && text.chars().all(|c| !c.is_uppercase())
        && text.chars().any(char::is_lowercase)
}

const PREFIX_HINT: &str = "must include the 'ACC-' prefix (e.g. 'ACC-12345').";

#[derive(Debug)]
struct LegacyApi {
    stateful: bool,
    list_called: bool,
    balance_fetched_for: Vec<String>,
    transactions_fetched_for: Vec<String>,
    categorized_ids: Vec<i64>,
    compliance_checked_for: Option<(String, String)>,
    subtotal_amounts: Option<Vec<f64>>,
    submitted_report: Option<String>,
}

impl LegacyApi {
    fn new(stateful: bool) -> Self {
        Self {
            stateful,
            list_called: false,
            balance_fetched_for: Vec::new(),
            transactions_fetched_for: Vec::new(),
            categorized_ids: Vec::new(),
            compliance_checked_for: None,
            subtotal_amounts: None,
            submitted_report: None,
        }
    }

    fn list_accounts(&mut self, args: &JsonObject) -> String {
        let (Some(page), Some(page_size)) = (non_null(args, "page"), non_null(args, "page_size"))
        else {
            return "ERROR: legacy_list_accounts requires 'page' and 'page_size' (not offset/limit)."
                .to_owned();
        };
        let (Ok(p), Ok(ps)) = (py_int(page), py_int(page_size)) else {
            return "ERROR: page and page_size must be integers.".to_owned();
        };
        if p < 1 || ps < 1 {
            return "ERROR: page and page_size must be >= 1.".to_owned();
        }
        self.list_called = true;
        let n = accounts().len();
        let mut lines = vec![format!("Page {p} of 1 ({n} of {n} accounts):")];
        lines.extend(
            accounts()
                .iter()
                .map(|a| format!("  - id: {} | name: {}", py_str(&a[0]), py_str(&a[1]))),
        );
        lines.join("\n")
    }

    fn get_balance(&mut self, args: &JsonObject) -> String {
        let aid = py_strip(&str_or(args, "account_id", "")).to_owned();
        if !aid.starts_with("ACC-") {
            return format!("ERROR: account_id '{aid}' {PREFIX_HINT}");
        }
        let Some(b) = constant("_model_reasoning._LEGACY_BALANCES").get(&aid) else {
            return format!("ERROR: account '{aid}' not found in balance system.");
        };
        self.balance_fetched_for.push(aid.clone());
        format!(
            "Balance for {aid}: amount={} (cents); last_txn={} (unix); status={}",
            py_str(&b["amount_cents"]),
            py_str(&b["last_txn_unix"]),
            py_str(&b["status"])
        )
    }

    fn get_transactions(&mut self, args: &JsonObject) -> String {
        let aid = py_strip(&str_or(args, "account_id", "")).to_owned();
        let since = py_strip(&str_or(args, "since", "")).to_owned();
        let until = py_strip(&str_or(args, "until", "")).to_owned();
        if !aid.starts_with("ACC-") {
            return format!("ERROR: account_id '{aid}' {PREFIX_HINT}");
        }
        if !is_iso_date(&since) || !is_iso_date(&until) {
            return format!(
                "ERROR: since/until must be ISO date format YYYY-MM-DD (got since='{since}', \
                 until='{until}'). Unix timestamps are not accepted here."
            );
        }
        self.transactions_fetched_for.push(aid.clone());
        if aid != "ACC-12345" {
            return format!("No transactions on file for {aid} between {since} and {until}.");
        }
        let mut lines = vec![format!("Transactions for {aid} ({since} to {until}):")];
        lines.extend(acme_transactions().iter().map(|t| {
            format!(
                "  {} | {} | amount: {} (cents) | category: {}",
                py_str(&t[0]),
                py_str(&t[1]),
                py_str(&t[2]),
                py_str(&t[3])
            )
        }));
        lines.join("\n")
    }

    fn categorize_spend(&mut self, args: &JsonObject) -> String {
        let raw = args.get("txn_id").unwrap_or(&Value::Null);
        let category = py_strip(&str_or(args, "category", "")).to_owned();
        if let Value::String(text) = raw {
            if !py_isdigit(text) {
                return format!(
                    "ERROR: txn_id '{text}' must be the numeric component as int (for \
                     'TXN/00042' pass 42, not the full string)."
                );
            }
        }
        let Ok(txn_id) = py_int(raw) else {
            return "ERROR: txn_id must be an integer (for 'TXN/00042' pass 42).".to_owned();
        };
        if !["SVCS", "HRDW", "TRVL", "MISC"].contains(&category.as_str()) {
            return format!(
                "ERROR: category '{category}' must be uppercase 4-letter code: SVCS|HRDW|TRVL|MISC."
            );
        }
        self.categorized_ids.push(txn_id);
        let padded = format!("TXN/{txn_id:05}");
        match acme_transactions()
            .iter()
            .find(|t| t[0].as_str() == Some(padded.as_str()))
        {
            Some(t) => {
                let cents = t[2].as_f64().expect("amounts in cents are numbers");
                format!(
                    "Categorized {padded} ({category}): amount={:.2} USD; bucket=GL-2400.",
                    cents / 100.0
                )
            }
            None => format!("Categorized txn_id={txn_id} ({category}): no amount on record."),
        }
    }

    fn check_compliance(&mut self, args: &JsonObject) -> String {
        let region = py_strip(&str_or(args, "region", "")).to_owned();
        let period = py_strip(&str_or(args, "period", "")).to_owned();
        if !is_lower_alpha_pair(&region) {
            return format!(
                "ERROR: region '{region}' must be lowercase 2-letter ISO code (e.g. 'us', 'gb')."
            );
        }
        if !is_iso_quarter(&period) {
            let tail = if self.stateful {
                ""
            } else {
                " Dates and Unix timestamps are not accepted here."
            };
            return format!(
                "ERROR: period '{period}' must be ISO quarter notation YYYY-QN (e.g. '2024-Q4').{tail}"
            );
        }
        let text = format!(
            "Compliance status for region={region}, period={period}: PASS (3 checks: \
             AML/KYC/SOX); flagged_count=0."
        );
        self.compliance_checked_for = Some((region, period));
        text
    }

    fn aggregate_subtotal(&mut self, args: &JsonObject) -> String {
        let s = py_strip(&str_or(args, "amounts", "")).to_owned();
        if s.is_empty() {
            return "ERROR: amounts is empty.".to_owned();
        }
        if !s.contains('|') {
            return format!(
                "ERROR: amounts '{s}' must be pipe-separated decimal dollars (e.g. \
                 '1000.00|2500.00'). Lists, comma/space-separated values, and cent values are \
                 not accepted."
            );
        }
        let parsed: Result<Vec<f64>, ToolError> = s
            .split('|')
            .map(py_strip)
            .filter(|part| !part.is_empty())
            .map(|part| py_float(&Value::String(part.to_owned())))
            .collect();
        let Ok(numbers) = parsed else {
            return format!(
                "ERROR: amounts '{s}' contains non-numeric values; expected decimal dollars."
            );
        };
        let total: f64 = numbers.iter().sum();
        let text = format!(
            "Subtotal: {total:.2} USD ({} amounts processed).",
            numbers.len()
        );
        self.subtotal_amounts = Some(numbers);
        text
    }
}

/// `kwargs.get(key)` treating JSON null like an absent key (both are `None` in Python).
fn non_null<'a>(args: &'a JsonObject, key: &str) -> Option<&'a Value> {
    args.get(key).filter(|value| !value.is_null())
}

impl ScenarioBackend for LegacyApi {
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
        Ok(match tool {
            "legacy_list_accounts" => self.list_accounts(args),
            "legacy_get_balance" => self.get_balance(args),
            "legacy_get_transactions" => self.get_transactions(args),
            "legacy_categorize_spend" => self.categorize_spend(args),
            "legacy_check_compliance" => self.check_compliance(args),
            "legacy_aggregate_subtotal" => self.aggregate_subtotal(args),
            "legacy_submit_audit" => {
                let report = py_strip(&str_or(args, "report", "")).to_owned();
                let text = format!("Audit submitted. Report: {report}");
                self.submitted_report = Some(report);
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
        let acme = "ACC-12345".to_owned();
        Some(
            self.list_called
                && self.balance_fetched_for.contains(&acme)
                && self.transactions_fetched_for.contains(&acme)
                && self
                    .categorized_ids
                    .iter()
                    .any(|id| [42, 43, 44].contains(id))
                && self.compliance_checked_for == Some(("us".to_owned(), "2024-Q4".to_owned()))
                && self
                    .subtotal_amounts
                    .as_ref()
                    .is_some_and(|amounts| (amounts.iter().sum::<f64>() - 25500.0).abs() < 0.01)
                && self.submitted_report.as_ref().is_some_and(|report| {
                    super::validators::inconsistent_api_report(&Value::String(report.clone()))
                }),
        )
    }
}
