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

    /// A JSON body that is not `what`: at serde_json's line and column
    /// (1-based: serde_json says column 0 when it stopped at a line's
    /// start), with its message less its own " at line L column C".
    pub(crate) fn json(e: &serde_json::Error, what: &str) -> Self {
        let text = e.to_string();
        let reason = match text.rfind(" at line ") {
            Some(i) => &text[..i],
            None => &text,
        };
        ProtocolError::invalid(
            (e.line() > 0).then(|| format!("line {}, column {}", e.line(), e.column().max(1))),
            format!("not {what} in JSON: {reason}"),
        )
    }

    /// A protobuf body that is not `what`, in our words: prost's reason, and
    /// where as the fields from the request down
    /// (`ExportLogsServiceRequest.resource_logs > ResourceLogs.scope_logs >
    /// …`), the first few of them: prost names every level, and a deep
    /// body's path would be kilobytes.
    pub(crate) fn protobuf(e: &prost::DecodeError, what: &str) -> Self {
        const SHOWN: usize = 6;
        let text = e.to_string();
        let mut rest = text
            .strip_prefix("failed to decode Protobuf message: ")
            .unwrap_or(&text);
        // prost writes the innermost field first, each as `Message.field: `.
        let mut fields = Vec::new();
        while let Some((field, after)) = rest.split_once(": ") {
            let is_field = field.split_once('.').is_some_and(|(message, name)| {
                [message, name].iter().all(|part| {
                    !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
            });
            if !is_field {
                break;
            }
            fields.push(field);
            rest = after;
        }
        fields.reverse();
        let location = (!fields.is_empty()).then(|| {
            let shown = fields[..fields.len().min(SHOWN)].join(" > ");
            match fields.len() {
                n if n > SHOWN => format!("{shown} > … ({n} levels)"),
                _ => shown,
            }
        });
        ProtocolError::invalid(location, format!("not {what} in protobuf: {rest}"))
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
