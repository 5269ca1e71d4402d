//! The one credential a proxied request may carry to the backend.
//!
//! Sources: exactly one inbound auth header (`Authorization` or `x-api-key`), or the static
//! `--backend-api-key`, never both. Two credentials of any kind — including the same auth
//! header sent twice, which a header map would silently collapse — are refused with a 400
//! naming the headers, never their values. Blank and scheme-only values (`Bearer `) count as
//! absent. No other inbound header reaches the backend.
//!
//! Relocation: when the caller speaks the backend's protocol the header travels verbatim (a
//! non-Bearer scheme or an OAuth token survives); across protocols the token (a leading
//! `Bearer ` stripped) goes into the backend's native slot — `x-api-key` for Anthropic,
//! `Authorization: Bearer` for OpenAI-shaped servers. Known limitation (as in the reference): an
//! Anthropic OAuth token sent through the OpenAI endpoint to an Anthropic backend lands in
//! `x-api-key` and is rejected by the backend.

use axum::http::HeaderMap;
use forge_client::{
    auth_header_token, AuthSlot, ChunkStream, ConstraintDialect, Credential, CredentialError,
    InferenceRequest, LlmClient,
};
use forge_types::{ApiFormat, BackendError, Completion};

use crate::error::ProxyError;
use crate::inbound::Protocol;

/// The protocol whose canonical auth slot is `slot`.
fn protocol_of(slot: AuthSlot) -> Protocol {
    match slot {
        AuthSlot::Authorization => Protocol::OpenAi,
        AuthSlot::XApiKey => Protocol::Anthropic,
    }
}

/// The single inbound auth header carrying a token, as `(slot, value)`; `None` when no auth
/// header carries one.
fn inbound_auth_header(headers: &HeaderMap) -> Result<Option<(AuthSlot, &str)>, ProxyError> {
    let mut found = Vec::new();
    for slot in [AuthSlot::Authorization, AuthSlot::XApiKey] {
        let values: Vec<_> = headers.get_all(slot.header_name()).iter().collect();
        if values.len() > 1 {
            return Err(ProxyError::Credentials(format!(
                "the request carries the {} header {} times; send one credential",
                slot.header_name(),
                values.len()
            )));
        }
        let Some(value) = values.first() else {
            continue;
        };
        let text = value.to_str().map_err(|_| {
            ProxyError::Credentials(format!(
                "the {} header is not visible ASCII text",
                slot.header_name()
            ))
        })?;
        if auth_header_token(slot, text).is_some() {
            found.push((slot, text));
        } else {
            tracing::debug!(header = slot.header_name(), "blank auth header ignored");
        }
    }
    if found.len() > 1 {
        let names: Vec<&str> = found.iter().map(|(slot, _)| slot.header_name()).collect();
        return Err(ProxyError::Credentials(format!(
            "the request carries more than one credential ({}); send exactly one",
            names.join(", ")
        )));
    }
    Ok(found.pop())
}

fn unusable(error: CredentialError) -> ProxyError {
    ProxyError::Credentials(error.to_string())
}

/// The credential for one request, placed for a backend authenticating in `native`, from the
/// inbound headers of a `source`-protocol request. `None`: the request carries none (the static
/// key, if configured, is the client's own). An inbound credential next to a static key is a
/// 400.
pub fn resolve_request_credential(
    headers: &HeaderMap,
    source: Protocol,
    native: AuthSlot,
    static_key: bool,
) -> Result<Option<Credential>, ProxyError> {
    let Some((slot, value)) = inbound_auth_header(headers)? else {
        return Ok(None);
    };
    if static_key {
        return Err(ProxyError::Credentials(format!(
            "the request carries a credential ({}) and the proxy has a static backend key \
             (--backend-api-key / FORGE_BACKEND_API_KEY); send none or unset the key",
            slot.header_name()
        )));
    }
    let credential = if source == protocol_of(native) {
        Credential::verbatim(slot, value)
    } else {
        let token = auth_header_token(slot, value)
            .expect("inbound_auth_header keeps only values that carry a token");
        Credential::token(token)
    }
    .map_err(unusable)?;
    tracing::debug!(
        inbound = slot.header_name(),
        outbound = %credential.slot_for(native),
        "forwarding the request's credential"
    );
    Ok(Some(credential))
}

/// The credential for a metadata GET (which has no protocol of its own): the inbound header,
/// its source protocol read from the header it came in; else the static key in the native slot.
pub fn resolve_metadata_credential(
    headers: &HeaderMap,
    native: AuthSlot,
    static_key: Option<&Credential>,
) -> Result<Option<Credential>, ProxyError> {
    let inbound = inbound_auth_header(headers)?;
    let source = inbound.map_or(protocol_of(native), |(slot, _)| protocol_of(slot));
    match resolve_request_credential(headers, source, native, static_key.is_some())? {
        Some(credential) => Ok(Some(credential)),
        None => Ok(static_key.cloned()),
    }
}

/// A client whose every call carries one credential: the guarded path's engine builds the
/// requests, the credential is the proxy's to add.
#[derive(Debug)]
pub struct WithCredential<'a> {
    inner: &'a dyn LlmClient,
    credential: &'a Credential,
}

impl<'a> WithCredential<'a> {
    /// `inner`, sending `credential` on every call.
    pub fn new(inner: &'a dyn LlmClient, credential: &'a Credential) -> Self {
        Self { inner, credential }
    }

    fn authenticated(&self, request: &InferenceRequest) -> Result<InferenceRequest, BackendError> {
        if request.credential.is_some() {
            return Err(BackendError::InvalidRequest {
                problem: "the request already carries a credential; forge forwards at most one"
                    .into(),
            });
        }
        Ok(InferenceRequest {
            credential: Some(self.credential.clone()),
            ..request.clone()
        })
    }
}

#[async_trait::async_trait]
impl LlmClient for WithCredential<'_> {
    fn api_format(&self) -> ApiFormat {
        self.inner.api_format()
    }

    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }

    async fn send(&self, request: &InferenceRequest) -> Result<Completion, BackendError> {
        self.inner.send(&self.authenticated(request)?).await
    }

    async fn send_stream(&self, request: &InferenceRequest) -> Result<ChunkStream, BackendError> {
        self.inner.send_stream(&self.authenticated(request)?).await
    }

    async fn context_length(&self) -> Result<Option<u64>, BackendError> {
        self.inner.context_length().await
    }

    fn auth_slot(&self) -> AuthSlot {
        self.inner.auth_slot()
    }

    fn requires_request_credential(&self) -> bool {
        false
    }

    fn constraint_dialect(&self) -> Option<ConstraintDialect> {
        self.inner.constraint_dialect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    /// `(inbound headers, source protocol, backend slot, static key)` → the header sent, or the
    /// error's message fragment.
    type Case = (
        &'static [(&'static str, &'static str)],
        Protocol,
        AuthSlot,
        bool,
        Result<Option<(&'static str, &'static str)>, &'static str>,
    );

    #[test]
    fn resolution_table() {
        use AuthSlot::{Authorization as Bearer, XApiKey};
        use Protocol::{Anthropic, OpenAi};
        let cases: &[Case] = &[
            (&[], OpenAi, Bearer, false, Ok(None)),
            (&[], Anthropic, XApiKey, true, Ok(None)),
            (
                &[("authorization", "Bearer sk-1")],
                OpenAi,
                Bearer,
                false,
                Ok(Some(("authorization", "Bearer sk-1"))),
            ),
            (
                &[("authorization", "Basic abc")],
                OpenAi,
                Bearer,
                false,
                Ok(Some(("authorization", "Basic abc"))),
            ),
            (
                &[("x-api-key", "sk-1")],
                Anthropic,
                Bearer,
                false,
                Ok(Some(("authorization", "Bearer sk-1"))),
            ),
            (
                &[("authorization", "Bearer sk-1")],
                OpenAi,
                XApiKey,
                false,
                Ok(Some(("x-api-key", "sk-1"))),
            ),
            (
                &[("authorization", "Bearer oauth")],
                Anthropic,
                XApiKey,
                false,
                Ok(Some(("authorization", "Bearer oauth"))),
            ),
            (
                &[("x-api-key", "sk-1")],
                OpenAi,
                Bearer,
                false,
                Ok(Some(("x-api-key", "sk-1"))),
            ),
            (
                &[("authorization", "Bearer ")],
                OpenAi,
                Bearer,
                false,
                Ok(None),
            ),
            (
                &[("authorization", "Bearer"), ("x-api-key", "sk-1")],
                Anthropic,
                Bearer,
                false,
                Ok(Some(("authorization", "Bearer sk-1"))),
            ),
            (&[("x-api-key", "  ")], Anthropic, XApiKey, true, Ok(None)),
            (
                &[("authorization", "Bearer a"), ("x-api-key", "b")],
                OpenAi,
                Bearer,
                false,
                Err("more than one credential (authorization, x-api-key)"),
            ),
            (
                &[("x-api-key", "a"), ("x-api-key", "a")],
                Anthropic,
                XApiKey,
                false,
                Err("x-api-key header 2 times"),
            ),
            (
                &[("authorization", "Bearer a"), ("authorization", "")],
                OpenAi,
                Bearer,
                false,
                Err("authorization header 2 times"),
            ),
            (
                &[("authorization", "Bearer a")],
                OpenAi,
                Bearer,
                true,
                Err("static backend key"),
            ),
        ];
        for (inbound, source, native, static_key, expected) in cases {
            let outcome =
                resolve_request_credential(&headers(inbound), *source, *native, *static_key);
            let shown = format!("{inbound:?} {source:?} {native:?} static={static_key}");
            match (outcome, expected) {
                (Ok(credential), Ok(header)) => {
                    let sent = credential.map(|c| c.header(*native));
                    let sent = sent
                        .as_ref()
                        .map(|(n, v)| (n.as_str(), v.to_str().unwrap()));
                    assert_eq!(sent, *header, "{shown}");
                }
                (Err(error), Err(fragment)) => {
                    let message = error.to_string();
                    assert!(message.contains(fragment), "{shown}: {message}");
                    assert_eq!(error.status().as_u16(), 400, "{shown}");
                    for (_, value) in inbound.iter() {
                        if let Some(token) = auth_header_token(AuthSlot::Authorization, value) {
                            assert!(
                                token.len() < 2 || !message.contains(token),
                                "{shown}: {message}"
                            );
                        }
                    }
                }
                (outcome, expected) => panic!("{shown}: got {outcome:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn metadata_credentials_take_the_static_key_or_the_one_inbound_header() {
        let key = Credential::token("sk-static").unwrap();
        let sent =
            |inbound: &[(&'static str, &str)], native: AuthSlot, key: Option<&Credential>| {
                resolve_metadata_credential(&headers(inbound), native, key).map(|credential| {
                    credential.map(|c| {
                        let (name, value) = c.header(native);
                        (name.to_string(), value.to_str().unwrap().to_owned())
                    })
                })
            };
        assert_eq!(
            sent(&[], AuthSlot::XApiKey, Some(&key)).unwrap(),
            Some(("x-api-key".into(), "sk-static".into()))
        );
        assert_eq!(
            sent(&[("x-api-key", "sk-1")], AuthSlot::XApiKey, None).unwrap(),
            Some(("x-api-key".into(), "sk-1".into()))
        );
        assert_eq!(
            sent(&[("x-api-key", "sk-1")], AuthSlot::Authorization, None).unwrap(),
            Some(("authorization".into(), "Bearer sk-1".into()))
        );
        assert!(sent(
            &[("x-api-key", "sk-1")],
            AuthSlot::Authorization,
            Some(&key)
        )
        .is_err());
        assert_eq!(sent(&[], AuthSlot::Authorization, None).unwrap(), None);
    }
}
