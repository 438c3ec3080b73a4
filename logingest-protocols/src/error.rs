//! One error type for every protocol: what is wrong and where in the
//! request, in terms of the protocol (not of the JSON text a record is
//! written as internally).

use logingest_core::Error;

/// Why a request of a shipper's protocol cannot be stored. Nothing of a
/// request that fails is stored.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The request is not valid in its protocol (broken protobuf or JSON, an
    /// id of the wrong length, a record the record rules refuse).
    #[error("{}{reason}", location_prefix(.location))]
    Invalid {
        /// Where in the request, in the protocol's terms, e.g.
        /// `resourceLogs[0].scopeLogs[0].logRecords[3].traceId`, or `line
        /// 3, column 17` of a JSON body; `None` for the request as a whole.
        location: Option<String>,
        /// What is wrong, without the location.
        reason: String,
    },
    /// The request exceeds a limit (records per request, record size).
    #[error("{}{reason}", location_prefix(.location))]
    TooLarge {
        /// Where, as for [`ProtocolError::Invalid`].
        location: Option<String>,
        /// Which limit, and by how much.
        reason: String,
    },
    /// Not about the request: the caller's meter refused memory, or
    /// another error of the engine, returned as is.
    #[error(transparent)]
    Engine(#[from] Error),
}

fn location_prefix(location: &Option<String>) -> String {
    location
        .as_deref()
        .map(|l| format!("{l}: "))
        .unwrap_or_default()
}

impl ProtocolError {
    /// An invalid request, at `location`.
    pub(crate) fn invalid(location: impl Into<Option<String>>, reason: impl Into<String>) -> Self {
        ProtocolError::Invalid {
            location: location.into(),
            reason: reason.into(),
        }
    }

    /// Where the problem is, if it has a place in the request.
    pub fn location(&self) -> Option<&str> {
        match self {
            ProtocolError::Invalid { location, .. } | ProtocolError::TooLarge { location, .. } => {
                location.as_deref()
            }
            ProtocolError::Engine(_) => None,
        }
    }

    /// The reason, without the location.
    pub fn reason(&self) -> String {
        match self {
            ProtocolError::Invalid { reason, .. } | ProtocolError::TooLarge { reason, .. } => {
                reason.clone()
            }
            ProtocolError::Engine(e) => e.to_string(),
        }
    }
}
