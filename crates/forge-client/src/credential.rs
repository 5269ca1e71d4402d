//! A per-request backend credential ([`Credential`]) and the header slots it can ride in
//! ([`AuthSlot`]).
//!
//! forge forwards at most one credential per request. A client writes a request's credential
//! into its backend's *native* slot (OpenAI-shaped servers: `Authorization: Bearer <token>`;
//! Anthropic: `x-api-key: <token>`), unless the credential is marked to travel verbatim in the
//! header the caller used (same protocol at both ends, so a non-Bearer scheme or an OAuth token
//! survives). The secret never appears in `Debug` output, and the header value is marked
//! sensitive so HTTP-level logging hides it too.

use std::fmt;

use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use thiserror::Error;

const BEARER_SCHEME: &str = "bearer";

/// The `x-api-key` header name (lowercase, as HTTP/2 requires).
const X_API_KEY: &str = "x-api-key";

/// A header a credential can ride in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthSlot {
    /// `Authorization` (as a native slot: `Authorization: Bearer <token>`). OpenAI-shaped servers.
    Authorization,
    /// `x-api-key` (the token as is). The Anthropic Messages API.
    XApiKey,
}

impl AuthSlot {
    /// The header name, lowercase.
    pub fn header_name(self) -> &'static str {
        match self {
            Self::Authorization => "authorization",
            Self::XApiKey => X_API_KEY,
        }
    }

    /// The slot a header name denotes (case-insensitive), if it is an auth header.
    pub fn from_header_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("authorization") {
            Some(Self::Authorization)
        } else if name.eq_ignore_ascii_case(X_API_KEY) {
            Some(Self::XApiKey)
        } else {
            None
        }
    }

    fn http_name(self) -> HeaderName {
        match self {
            Self::Authorization => AUTHORIZATION,
            Self::XApiKey => HeaderName::from_static(X_API_KEY),
        }
    }
}

impl fmt::Display for AuthSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.header_name())
    }
}

/// The token an auth header value carries, or `None` when it carries none: a blank value, or an
/// `Authorization` value that is only the `Bearer` scheme. A leading `Bearer ` is stripped from an
/// `Authorization` value; `x-api-key` values are the token already.
pub fn auth_header_token(slot: AuthSlot, value: &str) -> Option<&str> {
    let value = value.trim();
    let token = match slot {
        AuthSlot::Authorization => strip_bearer(value).unwrap_or(value),
        AuthSlot::XApiKey => value,
    };
    (!token.is_empty()).then_some(token)
}

/// The rest of `value` after a case-insensitive `Bearer` scheme, trimmed; `None` without it.
fn strip_bearer(value: &str) -> Option<&str> {
    let scheme = value.get(..BEARER_SCHEME.len())?;
    if !scheme.eq_ignore_ascii_case(BEARER_SCHEME) {
        return None;
    }
    let rest = &value[BEARER_SCHEME.len()..];
    if rest.is_empty() {
        return Some(rest);
    }
    // `Bearerxyz` is not the Bearer scheme.
    rest.starts_with(char::is_whitespace).then(|| rest.trim())
}

/// Why a [`Credential`] could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CredentialError {
    /// The value carries no token (blank, or the `Bearer` scheme alone).
    #[error("the {slot} value carries no credential")]
    Blank {
        /// The header the value was meant for.
        slot: AuthSlot,
    },
    /// The value has characters an HTTP header cannot carry.
    #[error("the {slot} value contains characters not allowed in an HTTP header")]
    Unsendable {
        /// The header the value was meant for.
        slot: AuthSlot,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// Written into the backend's native slot.
    Native,
    /// Sent exactly as received, in this header.
    Verbatim(AuthSlot),
}

/// One request's backend credential. `Debug` shows where it goes, never the secret.
///
/// ```
/// use forge_client::{AuthSlot, Credential};
///
/// let token = Credential::token("sk-secret").expect("a token");
/// assert_eq!(token.slot_for(AuthSlot::XApiKey), AuthSlot::XApiKey);
/// assert!(!format!("{token:?}").contains("sk-secret"));
///
/// let oauth = Credential::verbatim(AuthSlot::Authorization, "Bearer oauth-token").expect("a value");
/// assert_eq!(oauth.slot_for(AuthSlot::XApiKey), AuthSlot::Authorization);
/// assert!(Credential::token("  ").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    placement: Placement,
    secret: String,
}

impl Credential {
    /// A bare token, written into the backend's native slot (`Authorization: Bearer <token>` or
    /// `x-api-key: <token>`). Surrounding whitespace is dropped; a blank token is refused.
    pub fn token(token: impl Into<String>) -> Result<Self, CredentialError> {
        let token = token.into();
        let trimmed = token.trim();
        if trimmed.is_empty() {
            return Err(CredentialError::Blank {
                slot: AuthSlot::Authorization,
            });
        }
        let credential = Self {
            placement: Placement::Native,
            secret: trimmed.to_owned(),
        };
        for slot in [AuthSlot::Authorization, AuthSlot::XApiKey] {
            credential.header_value(slot)?;
        }
        Ok(credential)
    }

    /// A header value sent exactly as given in `slot`, whatever the backend's native slot (for
    /// a caller speaking the backend's own protocol: a non-Bearer scheme, an OAuth token).
    /// A value that carries no token (see [`auth_header_token`]) is refused.
    pub fn verbatim(slot: AuthSlot, value: impl Into<String>) -> Result<Self, CredentialError> {
        let value = value.into();
        if auth_header_token(slot, &value).is_none() {
            return Err(CredentialError::Blank { slot });
        }
        let credential = Self {
            placement: Placement::Verbatim(slot),
            secret: value.trim().to_owned(),
        };
        credential.header_value(slot)?;
        Ok(credential)
    }

    /// The header this credential rides in for a backend whose native slot is `native`.
    pub fn slot_for(&self, native: AuthSlot) -> AuthSlot {
        match self.placement {
            Placement::Native => native,
            Placement::Verbatim(slot) => slot,
        }
    }

    /// `text` with every occurrence of the secret replaced by `[redacted]`, for error messages
    /// that quote a backend body (some backends echo the key they rejected).
    pub fn redact(&self, text: &str) -> String {
        let token = match self.placement {
            Placement::Native => self.secret.as_str(),
            Placement::Verbatim(slot) => auth_header_token(slot, &self.secret).unwrap_or_default(),
        };
        if token.is_empty() {
            return text.to_owned();
        }
        text.replace(token, "[redacted]")
    }

    /// The header to send to a backend whose native slot is `native`, marked sensitive.
    pub fn header(&self, native: AuthSlot) -> (HeaderName, HeaderValue) {
        let slot = self.slot_for(native);
        let value = self
            .header_value(slot)
            .expect("checked when the credential was made: the value is a valid header value");
        (slot.http_name(), value)
    }

    fn header_value(&self, slot: AuthSlot) -> Result<HeaderValue, CredentialError> {
        let text = match (self.placement, slot) {
            (Placement::Native, AuthSlot::Authorization) => format!("Bearer {}", self.secret),
            _ => self.secret.clone(),
        };
        let mut value =
            HeaderValue::from_str(&text).map_err(|_| CredentialError::Unsendable { slot })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let placement = match self.placement {
            Placement::Native => "native slot".to_owned(),
            Placement::Verbatim(slot) => format!("verbatim {slot}"),
        };
        f.debug_struct("Credential")
            .field("placement", &placement)
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_scheme_only_values_carry_no_token() {
        let cases = [
            (AuthSlot::Authorization, "Bearer sk-1", Some("sk-1")),
            (AuthSlot::Authorization, "bearer   sk-1  ", Some("sk-1")),
            (AuthSlot::Authorization, "Bearer ", None),
            (AuthSlot::Authorization, "Bearer", None),
            (AuthSlot::Authorization, "BEARER\t", None),
            (AuthSlot::Authorization, "   ", None),
            (AuthSlot::Authorization, "", None),
            (
                AuthSlot::Authorization,
                "Basic dXNlcg==",
                Some("Basic dXNlcg=="),
            ),
            (AuthSlot::Authorization, "Bearerish", Some("Bearerish")),
            (AuthSlot::XApiKey, "sk-ant", Some("sk-ant")),
            (AuthSlot::XApiKey, " \t", None),
            (AuthSlot::XApiKey, "Bearer sk", Some("Bearer sk")),
        ];
        for (slot, value, expected) in cases {
            assert_eq!(
                auth_header_token(slot, value),
                expected,
                "{slot}: {value:?}"
            );
        }
    }

    #[test]
    fn a_token_lands_in_the_native_slot_and_a_verbatim_value_keeps_its_header() {
        let check = |credential: Credential, native: AuthSlot, name: &str, value: &str| {
            let (header_name, header_value) = credential.header(native);
            assert_eq!(header_name.as_str(), name);
            assert_eq!(header_value.to_str().unwrap(), value);
            assert!(header_value.is_sensitive());
        };
        let token = || Credential::token(" sk-1 ").unwrap();
        check(
            token(),
            AuthSlot::Authorization,
            "authorization",
            "Bearer sk-1",
        );
        check(token(), AuthSlot::XApiKey, "x-api-key", "sk-1");
        let basic = || Credential::verbatim(AuthSlot::Authorization, "Basic abc").unwrap();
        check(
            basic(),
            AuthSlot::Authorization,
            "authorization",
            "Basic abc",
        );
        check(basic(), AuthSlot::XApiKey, "authorization", "Basic abc");
        let key = Credential::verbatim(AuthSlot::XApiKey, "sk-ant").unwrap();
        check(key, AuthSlot::Authorization, "x-api-key", "sk-ant");
    }

    #[test]
    fn unusable_values_are_refused() {
        assert_eq!(
            Credential::token("\t"),
            Err(CredentialError::Blank {
                slot: AuthSlot::Authorization
            })
        );
        assert_eq!(
            Credential::verbatim(AuthSlot::Authorization, "Bearer  "),
            Err(CredentialError::Blank {
                slot: AuthSlot::Authorization
            })
        );
        assert_eq!(
            Credential::verbatim(AuthSlot::XApiKey, "line\nbreak"),
            Err(CredentialError::Unsendable {
                slot: AuthSlot::XApiKey
            })
        );
    }

    #[test]
    fn debug_output_and_redaction_hide_the_secret() {
        for credential in [
            Credential::token("sk-very-secret").unwrap(),
            Credential::verbatim(AuthSlot::Authorization, "Bearer sk-very-secret").unwrap(),
            Credential::verbatim(AuthSlot::XApiKey, "sk-very-secret").unwrap(),
        ] {
            let shown = format!("{credential:?} {credential:#?}");
            assert!(!shown.contains("very-secret"), "{shown}");
            assert_eq!(
                credential.redact("Incorrect API key: sk-very-secret."),
                "Incorrect API key: [redacted]."
            );
        }
    }

    #[test]
    fn header_names_are_recognized_case_insensitively() {
        assert_eq!(
            AuthSlot::from_header_name("X-Api-Key"),
            Some(AuthSlot::XApiKey)
        );
        assert_eq!(
            AuthSlot::from_header_name("AUTHORIZATION"),
            Some(AuthSlot::Authorization)
        );
        assert_eq!(AuthSlot::from_header_name("x-api-keys"), None);
    }
}
