//! The expense audit of `argument_transformation` (lambda) and its stateful twin.
//!
//! Both share data and texts. The lambda tools read arguments with defaults
//! (`kwargs.get(k, default)`), the stateful ones require them (a missing one raises `KeyError`),
//! and the stateful backend records which tools were used so the state check can tell reasoning
//! from guessing.

use std::collections::BTreeSet;

use forge_types::JsonObject;
use serde_json::{json, Value};

use super::{required, ScenarioBackend, ToolError};
use crate::py::{fmt_thousands_2, py_float, py_int, py_str, py_strip};
use crate::reference::constant;

pub(crate) fn backend(name: &str) -> Option<Box<dyn ScenarioBackend>> {
    Some(match name {
        "argument_transformation" => Box::new(ExpenseAudit::new(false)),
        "argument_transformation_stateful" => Box::new(ExpenseAudit::new(true)),
        _ => return None,
    })
}

const FX_EUR_TO_USD: f64 = 1.10;

struct Transaction {
    id: &'static str,
    date: &'static str,
    vendor: &'static str,
    amount: f64,
    currency: &'static str,
}

fn transactions() -> impl Iterator<Item = Transaction> {
    constant("_model_reasoning._Q4_2024_TRANSACTIONS")
        .as_array()
        .expect("the transaction table is a list")
        .iter()
        .map(|row| Transaction {
            id: row[0].as_str().expect("transaction id"),
            date: row[1].as_str().expect("transaction date"),
            vendor: row[2].as_str().expect("transaction vendor"),
            amount: row[3].as_f64().expect("transaction amount"),
            currency: row[4].as_str().expect("transaction currency"),
        })
}

fn approved_vendors() -> impl Iterator<Item = &'static str> {
    constant("_model_reasoning._APPROVED_VENDORS")
        .as_array()
        .expect("the approved vendors are a list")
        .iter()
        .filter_map(Value::as_str)
}

fn format_transactions() -> String {
    let mut lines = vec!["Q4 2024 Expense Transactions:".to_owned()];
    for t in transactions() {
        lines.push(format!(
            "  {} | {} | vendor: {:<25} | amount: {:>8} {}",
            t.id,
            t.date,
            t.vendor,
            fmt_thousands_2(t.amount),
            t.currency
        ));
    }
    lines.join("\n")
}

/// A stable stand-in for the reference's per-process randomised `hash()` (FNV-1a).
fn gl_bucket(category: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in category.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash % 9000 + 1000
}

#[derive(Debug)]
struct ExpenseAudit {
    stateful: bool,
    list_called_for: Option<(String, i64)>,
    approved_called: bool,
    vendor_details_called_for: BTreeSet<String>,
    eur_conversion_called: bool,
    submitted_args: Option<JsonObject>,
}

impl ExpenseAudit {
    fn new(stateful: bool) -> Self {
        Self {
            stateful,
            list_called_for: None,
            approved_called: false,
            vendor_details_called_for: BTreeSet::new(),
            eur_conversion_called: false,
            submitted_args: None,
        }
    }

    /// The argument: required on the stateful twin, `default` when absent on the lambda.
    fn arg<'a>(
        &self,
        args: &'a JsonObject,
        key: &str,
        default: &'a Value,
    ) -> Result<&'a Value, ToolError> {
        if self.stateful {
            required(args, key)
        } else {
            Ok(args.get(key).unwrap_or(default))
        }
    }
}

fn norm(value: &Value) -> String {
    py_strip(&py_str(value)).to_owned()
}

impl ScenarioBackend for ExpenseAudit {
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError> {
        let empty = json!("");
        let zero = json!(0);
        match tool {
            "list_transactions" => {
                let quarter = self.arg(args, "quarter", &empty)?;
                let year = self.arg(args, "year", &zero)?;
                let q = norm(quarter).to_uppercase();
                let y = py_int(year)?;
                if q == "Q4" && y == 2024 {
                    self.list_called_for = Some((q, y));
                    return Ok(format_transactions());
                }
                Ok(if self.stateful {
                    format!(
                        "No transactions found for {} {}.",
                        py_str(quarter),
                        py_str(year)
                    )
                } else {
                    format!("No transactions found for {q} {y}.")
                })
            }
            "get_approved_vendors" => {
                self.approved_called = true;
                let mut lines =
                    vec!["Approved Vendors (canonical names — case sensitive):".to_owned()];
                lines.extend(approved_vendors().map(|v| format!("  - {v}")));
                Ok(lines.join("\n"))
            }
            "get_vendor_details" => {
                let name = norm(self.arg(args, "vendor_name", &empty)?);
                self.vendor_details_called_for.insert(name.clone());
                Ok(match name.as_str() {
                    "ACME Corp" => "Vendor Details — ACME Corp\nStatus: registered trade-name \
                        alias of Acme Corp (unified entity 2023).\nAll purchasing under this name \
                        applies to the Acme Corp master account and is governed by the same \
                        approval terms."
                        .to_owned(),
                    "Acme Corp" => "Vendor Details — Acme Corp\nStatus: master account (legal \
                        entity since 1998).\nTrade-name aliases on file: ACME Corp."
                        .to_owned(),
                    other if approved_vendors().any(|v| v == other) => {
                        format!("Vendor Details — {other}\nStatus: standard supplier (active).")
                    }
                    other => {
                        format!("Vendor Details — {other}\nStatus: not found in vendor master.")
                    }
                })
            }
            "currency_convert" => {
                let amount = self.arg(args, "amount", &zero)?;
                let from = self.arg(args, "from_currency", &empty)?;
                let to = self.arg(args, "to_currency", &empty)?;
                let amount = py_float(amount)?;
                let src = norm(from).to_uppercase();
                let dst = norm(to).to_uppercase();
                let a = fmt_thousands_2(amount);
                Ok(if src == "EUR" && dst == "USD" {
                    self.eur_conversion_called = true;
                    let c = fmt_thousands_2(amount * FX_EUR_TO_USD);
                    format!("Conversion: {a} EUR = {c} USD (rate: 1 EUR = 1.1 USD)")
                } else if src == "USD" && dst == "EUR" {
                    let c = fmt_thousands_2(amount / FX_EUR_TO_USD);
                    format!("Conversion: {a} USD = {c} EUR (rate: 1 EUR = 1.1 USD)")
                } else if src == dst {
                    format!("Conversion: {a} {src} = {a} {dst} (same currency).")
                } else {
                    format!("Unsupported conversion pair: {src} -> {dst}.")
                })
            }
            "categorize_expense" => {
                let amount = self.arg(args, "amount", &zero)?;
                let category = norm(self.arg(args, "category", &empty)?);
                let amount = py_float(amount)?;
                Ok(format!(
                    "Categorization: {} -> {category} (GL bucket: GL-{}).",
                    fmt_thousands_2(amount),
                    gl_bucket(&category)
                ))
            }
            "lookup_transaction" => {
                let tid = norm(self.arg(args, "transaction_id", &empty)?);
                Ok(match transactions().find(|t| t.id == tid) {
                    Some(t) => format!(
                        "Transaction Record — {tid}\nDate: {}\nVendor: {}\nAmount: {} {}",
                        t.date,
                        t.vendor,
                        fmt_thousands_2(t.amount),
                        t.currency
                    ),
                    None => format!("No transaction found for '{tid}'."),
                })
            }
            "submit_audit_report" => {
                let ids = self.arg(args, "transaction_ids", &empty)?;
                let total = self.arg(args, "total_flagged_usd", &empty)?;
                let top = self.arg(args, "top_vendor", &empty)?;
                let text = format!(
                    "Audit report submitted. Flagged: {}; total: {}; top: {}.",
                    py_str(ids),
                    py_str(total),
                    py_str(top)
                );
                let mut submitted = JsonObject::new();
                submitted.insert("transaction_ids".into(), Value::String(py_str(ids)));
                submitted.insert("total_flagged_usd".into(), Value::String(py_str(total)));
                submitted.insert("top_vendor".into(), Value::String(py_str(top)));
                self.submitted_args = Some(submitted);
                Ok(text)
            }
            other => Err(ToolError::new(
                "NotImplementedError",
                format!("no tool {other}"),
            )),
        }
    }

    fn state_ok(&self) -> Option<bool> {
        if !self.stateful {
            return None;
        }
        Some(
            self.list_called_for == Some(("Q4".to_owned(), 2024))
                && self.approved_called
                && self.eur_conversion_called
                && self.vendor_details_called_for.contains("ACME Corp")
                && self
                    .submitted_args
                    .as_ref()
                    .is_some_and(super::validators::argument_transformation),
        )
    }
}
