//! Values that VCL carries from the client side to the backend side in one request header.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// A value written into a header on the client side and read back on the backend side of the same request, as JSON
/// (one line: JSON strings escape line breaks).
pub trait HeaderToken: Serialize + DeserializeOwned {
    /// The value as one header value.
    #[must_use]
    fn to_token(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a header value written by [`HeaderToken::to_token`].
    #[must_use]
    fn from_token(token: &str) -> Option<Self> {
        serde_json::from_str(token).ok()
    }
}
