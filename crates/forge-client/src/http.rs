//! HTTP plumbing shared by the backends: one `reqwest` client per backend instance, timeouts,
//! authentication headers, and the mapping of every failure to a typed [`BackendError`].

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use forge_types::{BackendError, ForgeError, TimeoutPhase};
use futures_util::stream::{BoxStream, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use serde::Serialize;
use serde_json::Value;

use crate::credential::{auth_header_token, AuthSlot, Credential};

/// Joins a base URL and an endpoint path.
///
/// Trailing `/` characters of `base` are dropped and exactly one `/` separates the two, so
/// `http://h:8080/v1` and `http://h:8080/v1/` both give `http://h:8080/v1/chat/completions`.
/// (The reference stripped the slash only for its OpenAI-compatible client; the others produced
/// `//chat/completions`, which some servers reject. One rule for every backend is simpler.)
pub fn join_url(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// A request URL parsed once, when a client is built, instead of on every request.
///
/// Keeps the URL as given (errors and [`RawResponse::url`] quote it) next to its parsed form.
/// A text that does not parse is kept as text only, so a request to it fails exactly as a
/// request to the string does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    text: String,
    parsed: Option<reqwest::Url>,
}

impl Endpoint {
    /// Parses `url` (a failure is kept for request time, see above).
    pub fn new(url: impl Into<String>) -> Self {
        let text = url.into();
        let parsed = reqwest::Url::parse(&text).ok();
        Self { text, parsed }
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Where [`HttpBackend`] sends a POST: a URL string (parsed by each request) or an
/// [`Endpoint`] (parsed once).
pub trait RequestUrl: Sync {
    /// The URL as given.
    fn as_text(&self) -> &str;

    /// The parsed URL, when parsed ahead of the request.
    fn parsed(&self) -> Option<&reqwest::Url> {
        None
    }
}

impl RequestUrl for str {
    fn as_text(&self) -> &str {
        self
    }
}

impl RequestUrl for String {
    fn as_text(&self) -> &str {
        self
    }
}

impl RequestUrl for Endpoint {
    fn as_text(&self) -> &str {
        &self.text
    }

    fn parsed(&self) -> Option<&reqwest::Url> {
        self.parsed.as_ref()
    }
}

impl<T: RequestUrl + ?Sized> RequestUrl for &T {
    fn as_text(&self) -> &str {
        (**self).as_text()
    }

    fn parsed(&self) -> Option<&reqwest::Url> {
        (**self).parsed()
    }
}

/// How a backend's HTTP client is set up.
#[derive(Clone)]
pub struct HttpConfig {
    /// Limit for establishing a connection.
    pub connect_timeout: Duration,
    /// Limit for each wait on the server: the response head, and every read of the body (so a
    /// long stream is fine as long as it keeps producing).
    pub read_timeout: Duration,
    /// Sent as `Authorization: Bearer <key>` when set and not blank.
    pub api_key: Option<String>,
    /// Added to every request. At most one static credential is allowed: `api_key` and an
    /// `Authorization`/`x-api-key` header here (or two such headers) is a construction error,
    /// never a silent override.
    pub extra_headers: Vec<(String, String)>,
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.extra_headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpConfig")
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("extra_headers", &header_names)
            .finish()
    }
}

impl HttpConfig {
    /// The default timeout of the OpenAI-compatible client (hosted providers).
    pub const HOSTED_TIMEOUT: Duration = Duration::from_secs(120);
    /// The default timeout of the clients for self-hosted servers (llama-server, vLLM, Ollama).
    pub const LOCAL_TIMEOUT: Duration = Duration::from_secs(300);

    /// A configuration using `timeout` for both connecting and reading, with no auth.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            connect_timeout: timeout,
            read_timeout: timeout,
            api_key: None,
            extra_headers: Vec::new(),
        }
    }

    /// Sets the bearer key. A blank key is treated as none.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        let key = key.into();
        self.api_key = (!key.trim().is_empty()).then_some(key);
        self
    }

    /// Adds one extra header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_headers.push((name.into(), value.into()));
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the read timeout.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// The header carrying the static credential, if one is configured (a blank auth header
    /// value is no credential). More than one is a construction error.
    pub fn static_credential_slots(&self) -> Vec<AuthSlot> {
        let from_key = self.api_key.iter().map(|_| AuthSlot::Authorization);
        let from_headers = self.extra_headers.iter().filter_map(|(name, value)| {
            AuthSlot::from_header_name(name)
                .filter(|slot| auth_header_token(*slot, value).is_some())
        });
        from_key.chain(from_headers).collect()
    }

    fn default_headers(&self) -> Result<HeaderMap, ForgeError> {
        let slots = self.static_credential_slots();
        if slots.len() > 1 {
            let names: Vec<&str> = slots.iter().map(|slot| slot.header_name()).collect();
            return Err(ForgeError::InvalidInput {
                what: "HTTP credentials",
                message: format!(
                    "more than one static credential is configured ({}); give exactly one",
                    names.join(", ")
                ),
            });
        }
        let mut headers = HeaderMap::new();
        if let Some(key) = &self.api_key {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                ForgeError::InvalidInput {
                    what: "api key",
                    message: "the key contains characters not allowed in an HTTP header".into(),
                }
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        for (name, value) in &self.extra_headers {
            let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|err| {
                ForgeError::InvalidInput {
                    what: "extra header name",
                    message: format!("{name:?}: {err}"),
                }
            })?;
            let mut header_value =
                HeaderValue::from_str(value).map_err(|err| ForgeError::InvalidInput {
                    what: "extra header value",
                    message: format!("value of {name:?}: {err}"),
                })?;
            if AuthSlot::from_header_name(header_name.as_str()).is_some() {
                header_value.set_sensitive(true);
            }
            headers.insert(header_name, header_value);
        }
        Ok(headers)
    }
}

/// A complete HTTP response: status and body text (invalid UTF-8 replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    /// The HTTP status.
    pub status: u16,
    /// The URL requested.
    pub url: String,
    /// The body as text.
    pub body: String,
}

impl RawResponse {
    /// True for a 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The typed error for this response as a failed HTTP exchange.
    pub fn http_error(&self) -> BackendError {
        BackendError::Http {
            status: self.status,
            url: self.url.clone(),
            body_excerpt: BackendError::excerpt(&self.body),
        }
    }

    /// The body as JSON: a non-2xx status is [`BackendError::Http`], an undecodable 2xx body is
    /// [`BackendError::InvalidResponse`].
    pub fn into_json(self) -> Result<Value, BackendError> {
        if !self.is_success() {
            return Err(self.http_error());
        }
        serde_json::from_str(&self.body).map_err(|err| BackendError::InvalidResponse {
            problem: format!("body is not JSON ({err})"),
            body_excerpt: BackendError::excerpt(&self.body),
        })
    }
}

/// One backend instance's HTTP client. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct HttpBackend {
    client: reqwest::Client,
    config: HttpConfig,
    /// The static credential's header, if any (checked against per-request credentials).
    static_credential: Option<AuthSlot>,
    /// One request's credential header (see [`HttpBackend::for_request`]).
    request_credential: Option<(HeaderName, HeaderValue)>,
}

impl fmt::Debug for HttpBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpBackend")
            .field("config", &self.config)
            .field(
                "request_credential",
                &self.request_credential.as_ref().map(|(name, _)| name),
            )
            .finish_non_exhaustive()
    }
}

impl HttpBackend {
    /// Builds the client. Fails on a header that cannot be sent or a TLS setup failure.
    pub fn new(config: HttpConfig) -> Result<Self, ForgeError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .default_headers(config.default_headers()?)
            // A redirect on a POST to a model server is a misconfiguration; surface it as a status.
            .redirect(reqwest::redirect::Policy::none())
            .use_rustls_tls()
            .build()
            .map_err(|err| ForgeError::InvalidInput {
                what: "HTTP client",
                message: error_chain(&err),
            })?;
        let static_credential = config.static_credential_slots().first().copied();
        Ok(Self {
            client,
            config,
            static_credential,
            request_credential: None,
        })
    }

    /// This client for one request carrying `credential` (none: this client as is), written
    /// into the backend's `native` slot unless the credential travels verbatim.
    ///
    /// A request credential next to a configured static one is refused
    /// ([`BackendError::InvalidRequest`], nothing sent): forge forwards at most one credential
    /// and never lets one silently replace the other.
    pub fn for_request(
        &self,
        credential: Option<&Credential>,
        native: AuthSlot,
    ) -> Result<Self, BackendError> {
        let Some(credential) = credential else {
            return Ok(self.clone());
        };
        if let Some(configured) = self.static_credential {
            return Err(BackendError::InvalidRequest {
                problem: format!(
                    "the request carries a credential ({}) but the client already has a static \
                     one ({configured}); forge forwards at most one credential",
                    credential.slot_for(native)
                ),
            });
        }
        let (name, value) = credential.header(native);
        tracing::debug!(header = %name, "per-request credential");
        Ok(Self {
            request_credential: Some((name, value)),
            ..self.clone()
        })
    }

    /// Whether a static credential is configured (the client's own key or auth header).
    pub fn has_static_credential(&self) -> bool {
        self.static_credential.is_some()
    }

    /// Whether a request sent through this client carries a credential (static or per-request).
    pub fn sends_credential(&self) -> bool {
        self.static_credential.is_some() || self.request_credential.is_some()
    }

    fn request<U: RequestUrl + ?Sized>(
        &self,
        method: reqwest::Method,
        url: &U,
    ) -> reqwest::RequestBuilder {
        let builder = match url.parsed() {
            Some(parsed) => self.client.request(method, parsed.clone()),
            None => self.client.request(method, url.as_text()),
        };
        match &self.request_credential {
            Some((name, value)) => builder.header(name.clone(), value.clone()),
            None => builder,
        }
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// POSTs `body` as JSON and reads the whole response, whatever its status.
    pub async fn post<U: RequestUrl + ?Sized, B: Serialize + ?Sized>(
        &self,
        url: &U,
        body: &B,
    ) -> Result<RawResponse, BackendError> {
        let request = self.request(reqwest::Method::POST, url).json(body);
        let url = url.as_text();
        tracing::debug!(url, "POST");
        let response = request
            .send()
            .await
            .map_err(|err| self.map_error(&err, url))?;
        self.read_whole(response, url).await
    }

    /// POSTs `body` and returns the decoded JSON of a 2xx answer (see [`RawResponse::into_json`]).
    pub async fn post_json<U: RequestUrl + ?Sized, B: Serialize + ?Sized>(
        &self,
        url: &U,
        body: &B,
    ) -> Result<Value, BackendError> {
        self.post(url, body).await?.into_json()
    }

    /// GETs `url` and reads the whole response, whatever its status.
    pub async fn get(&self, url: &str) -> Result<RawResponse, BackendError> {
        tracing::debug!(url, "GET");
        let response = self
            .request(reqwest::Method::GET, url)
            .send()
            .await
            .map_err(|err| self.map_error(&err, url))?;
        self.read_whole(response, url).await
    }

    /// GETs `url` and returns the decoded JSON of a 2xx answer.
    pub async fn get_json(&self, url: &str) -> Result<Value, BackendError> {
        self.get(url).await?.into_json()
    }

    /// POSTs `body` and, on a 2xx answer, returns the body as a stream of byte chunks (each read
    /// error mapped to a typed error). A non-2xx answer is read whole and returned as
    /// `Err(response)` so the caller can decide (most callers use [`RawResponse::http_error`]).
    pub async fn post_streaming<U: RequestUrl + ?Sized, B: Serialize + ?Sized>(
        &self,
        url: &U,
        body: &B,
    ) -> Result<Result<BoxStream<'static, Result<Bytes, BackendError>>, RawResponse>, BackendError>
    {
        let request = self.request(reqwest::Method::POST, url).json(body);
        let url = url.as_text();
        tracing::debug!(url, "POST (streaming)");
        let response = request
            .send()
            .await
            .map_err(|err| self.map_error(&err, url))?;
        if !response.status().is_success() {
            return Ok(Err(self.read_whole(response, url).await?));
        }
        let this = self.clone();
        let owned_url = url.to_owned();
        let bytes = response
            .bytes_stream()
            .map(move |item| item.map_err(|err| this.map_error(&err, &owned_url)))
            .boxed();
        Ok(Ok(bytes))
    }

    /// POSTs `body` and, on a 2xx answer, returns the body decoded as server-sent events. A
    /// non-2xx answer is read whole and returned as `Err(response)`.
    pub async fn post_sse<U: RequestUrl + ?Sized, B: Serialize + ?Sized>(
        &self,
        url: &U,
        body: &B,
    ) -> Result<Result<crate::FrameStream, RawResponse>, BackendError> {
        Ok(self
            .post_streaming(url, body)
            .await?
            .map(|bytes| forge_sse::sse_frames(bytes).boxed()))
    }

    async fn read_whole(
        &self,
        response: reqwest::Response,
        url: &str,
    ) -> Result<RawResponse, BackendError> {
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| self.map_error(&err, url))?;
        Ok(RawResponse {
            status,
            url: url.to_owned(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    /// The typed error for a failed exchange: timeouts (by phase), else transport.
    pub fn map_error(&self, err: &reqwest::Error, url: &str) -> BackendError {
        if err.is_timeout() {
            let (phase, after) = if err.is_connect() {
                (TimeoutPhase::Connect, self.config.connect_timeout)
            } else {
                (TimeoutPhase::Read, self.config.read_timeout)
            };
            return BackendError::Timeout {
                phase,
                after,
                url: url.to_owned(),
            };
        }
        BackendError::Transport {
            url: url.to_owned(),
            message: error_chain(err),
        }
    }
}

/// An error and its sources on one line (reqwest's own message alone is terse).
fn error_chain(err: &reqwest::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_url_uses_exactly_one_slash() {
        let cases = [
            (
                "http://h/v1",
                "/chat/completions",
                "http://h/v1/chat/completions",
            ),
            (
                "http://h/v1/",
                "/chat/completions",
                "http://h/v1/chat/completions",
            ),
            (
                "http://h/v1//",
                "chat/completions",
                "http://h/v1/chat/completions",
            ),
            ("http://h", "/props", "http://h/props"),
        ];
        for (base, path, expected) in cases {
            assert_eq!(join_url(base, path), expected, "{base} + {path}");
        }
    }

    #[test]
    fn blank_api_key_is_no_key() {
        assert_eq!(
            HttpConfig::with_timeout(Duration::from_secs(1))
                .api_key("  ")
                .api_key,
            None
        );
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let config = HttpConfig::with_timeout(Duration::from_secs(1))
            .api_key("sk-secret")
            .header("Authorization", "ApiKey also-secret");
        let shown = format!("{config:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn two_static_credentials_are_a_construction_error_not_an_override() {
        let quick = || HttpConfig::with_timeout(Duration::from_secs(1));
        let cases = [
            (
                quick().api_key("sk-1").header("Authorization", "ApiKey x"),
                false,
            ),
            (quick().api_key("sk-1").header("X-Api-Key", "k"), false),
            (
                quick()
                    .header("authorization", "Bearer a")
                    .header("x-api-key", "b"),
                false,
            ),
            (quick().api_key("sk-1").header("x-api-key", "  "), true),
            (quick().header("Authorization", "Bearer "), true),
            (quick().api_key("sk-1").header("anthropic-beta", "x"), true),
        ];
        for (config, builds) in cases {
            let shown = format!("{config:?}");
            let result = HttpBackend::new(config);
            assert_eq!(result.is_ok(), builds, "{shown}");
            if let Err(error) = result {
                assert!(matches!(
                    error,
                    ForgeError::InvalidInput {
                        what: "HTTP credentials",
                        ..
                    }
                ));
                assert!(!error.to_string().contains("sk-1"), "{error}");
            }
        }
    }

    #[test]
    fn a_request_credential_next_to_a_static_one_is_refused() {
        let credential = Credential::token("sk-request").unwrap();
        for config in [
            HttpConfig::with_timeout(Duration::from_secs(1)).api_key("sk-static"),
            HttpConfig::with_timeout(Duration::from_secs(1)).header("x-api-key", "sk-static"),
        ] {
            let backend = HttpBackend::new(config).unwrap();
            let error = backend
                .for_request(Some(&credential), AuthSlot::Authorization)
                .unwrap_err();
            assert!(
                matches!(&error, BackendError::InvalidRequest { problem } if problem.contains("at most one")),
                "{error}"
            );
            assert!(!error.to_string().contains("sk-"), "{error}");
            assert!(backend.for_request(None, AuthSlot::Authorization).is_ok());
        }
        let open = HttpBackend::new(HttpConfig::with_timeout(Duration::from_secs(1))).unwrap();
        let authorized = open
            .for_request(Some(&credential), AuthSlot::XApiKey)
            .unwrap();
        assert!(authorized.sends_credential() && !open.sends_credential());
        assert!(!format!("{authorized:?}").contains("sk-request"));
    }

    #[test]
    fn unsendable_header_is_a_construction_error() {
        let config = HttpConfig::with_timeout(Duration::from_secs(1)).header("bad name", "x");
        assert!(matches!(
            HttpBackend::new(config),
            Err(ForgeError::InvalidInput {
                what: "extra header name",
                ..
            })
        ));
    }
}
