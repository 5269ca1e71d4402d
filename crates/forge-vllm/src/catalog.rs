//! Reading vLLM's `GET /v1/models` catalog. Pure: no I/O.

use forge_types::BackendError;
use serde_json::Value;

/// The catalog's rows, or an error when the body is not a catalog.
fn entries<'a>(catalog: &'a Value, raw: &str) -> Result<&'a [Value], BackendError> {
    match catalog.get("data") {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(rows)) => Ok(rows),
        Some(_) => Err(invalid("vLLM /v1/models `data` is not an array", raw)),
    }
}

/// The first served model's id: what an unpinned client adopts as its identity.
pub(crate) fn first_served_model(
    catalog: &Value,
    raw: &str,
) -> Result<Option<String>, BackendError> {
    match entries(catalog, raw)?.first() {
        None => Ok(None),
        Some(row) => match row.get("id") {
            Some(Value::String(id)) if !id.trim().is_empty() => Ok(Some(id.clone())),
            _ => Err(invalid(
                "vLLM /v1/models first entry has no string `id`",
                raw,
            )),
        },
    }
}

/// The `max_model_len` of the row whose `id` is `model`.
///
/// An empty catalog is an error (the server serves nothing). A catalog without `model`, or a row
/// without `max_model_len`, means the window is unknown (`None`): the reference's habit of
/// borrowing the first row's window could report another model's size.
pub(crate) fn context_length_of(
    catalog: &Value,
    raw: &str,
    model: &str,
) -> Result<Option<u64>, BackendError> {
    let rows = entries(catalog, raw)?;
    if rows.is_empty() {
        return Err(invalid("vLLM /v1/models returned no entries", raw));
    }
    let Some(row) = rows
        .iter()
        .find(|row| row.get("id").and_then(Value::as_str) == Some(model))
    else {
        tracing::warn!(
            model,
            "vLLM /v1/models does not list the model; context length unknown"
        );
        return Ok(None);
    };
    match row.get("max_model_len") {
        None | Some(Value::Null) => {
            tracing::warn!(
                model,
                "vLLM /v1/models entry has no max_model_len; context length unknown"
            );
            Ok(None)
        }
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid("max_model_len is not a positive integer", raw)),
        Some(Value::String(text)) => text
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| invalid("max_model_len is not a positive integer", raw)),
        Some(_) => Err(invalid("max_model_len is not a positive integer", raw)),
    }
}

fn invalid(problem: &str, raw: &str) -> BackendError {
    BackendError::InvalidResponse {
        problem: problem.to_owned(),
        body_excerpt: BackendError::excerpt(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_context(catalog: Value, model: &str) -> Result<Option<u64>, String> {
        let raw = catalog.to_string();
        context_length_of(&catalog, &raw, model).map_err(|err| err.to_string())
    }

    #[test]
    fn context_length_comes_from_the_models_own_row() {
        let catalog = json!({"data": [
            {"id": "other", "max_model_len": 4096},
            {"id": "/models/x", "max_model_len": 113000},
        ]});
        assert_eq!(
            check_context(catalog.clone(), "/models/x"),
            Ok(Some(113000))
        );
        assert_eq!(check_context(catalog, "missing"), Ok(None));
        assert_eq!(
            check_context(json!({"data": [{"id": "m", "max_model_len": "8192"}]}), "m"),
            Ok(Some(8192))
        );
        assert_eq!(check_context(json!({"data": [{"id": "m"}]}), "m"), Ok(None));
    }

    #[test]
    fn broken_catalogs_are_invalid_responses() {
        for catalog in [
            json!({"data": []}),
            json!({"data": "nope"}),
            json!({"data": [{"id": "m", "max_model_len": -1}]}),
            json!({"data": [{"id": "m", "max_model_len": "lots"}]}),
        ] {
            let err = check_context(catalog.clone(), "m").unwrap_err();
            assert!(err.contains("invalid"), "{catalog}: {err}");
        }
        assert!(check_context(json!({"data": []}), "m")
            .unwrap_err()
            .contains("no entries"));
    }

    #[test]
    fn served_model_is_the_first_rows_id() {
        let catalog =
            json!({"data": [{"id": "local-primary", "max_model_len": 262144}, {"id": "b"}]});
        assert_eq!(
            first_served_model(&catalog, "").unwrap().as_deref(),
            Some("local-primary")
        );
        assert_eq!(first_served_model(&json!({"data": []}), "").unwrap(), None);
        assert_eq!(first_served_model(&json!({}), "").unwrap(), None);
        assert!(first_served_model(&json!({"data": [{"id": 5}]}), "").is_err());
    }
}
