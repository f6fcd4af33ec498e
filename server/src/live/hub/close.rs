//! Why a socket closed: the code and reason of its close frame, for every way a socket can
//! end, whoever ends it (the hub, the socket's task or the upgrade handler).

use app::wire::close_code;
use tokio_tungstenite::tungstenite::{
    protocol::{frame::coding::CloseCode, CloseFrame},
    Message, Utf8Bytes,
};

/// The code and reason of a socket's close frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseReason {
    pub code: u16,
    pub reason: &'static str,
}

/// RFC 6455 reserves 1006 for a connection that ended without a close frame: it names a
/// client that vanished, and is never sent.
const CONNECTION_LOST_CODE: u16 = 1006;

impl CloseReason {
    /// A refused token or Origin, an ended session, or a token that expired (the reason says
    /// which).
    pub const fn policy(reason: &'static str) -> CloseReason {
        CloseReason { code: close_code::POLICY_VIOLATION, reason }
    }
    /// A live session's token expired.
    pub const TOKEN_EXPIRED: CloseReason = CloseReason::policy(app::wire::close_reason::TOKEN_EXPIRED);
    /// Signed in with a temporary password that has not been changed yet.
    pub const PASSWORD_CHANGE_REQUIRED: CloseReason = CloseReason::policy("password change required");
    /// A newer STAFF socket of the same user took over.
    pub const REPLACED: CloseReason = CloseReason { code: close_code::REPLACED, reason: "replaced by a newer session" };
    /// The outbound queue overflowed.
    pub const TOO_SLOW: CloseReason = CloseReason { code: close_code::TRY_AGAIN_LATER, reason: "too slow to keep up" };
    /// The socket could not be set up for now (the database did not answer).
    pub const TRY_LATER: CloseReason = CloseReason { code: close_code::TRY_AGAIN_LATER, reason: "try again later" };
    /// The server is stopping.
    pub const SHUTDOWN: CloseReason = CloseReason { code: close_code::GOING_AWAY, reason: "server shutting down" };
    /// The client sent a message over the size limit.
    pub const MESSAGE_TOO_BIG: CloseReason =
        CloseReason { code: close_code::MESSAGE_TOO_BIG, reason: "message too big" };
    /// The user opened more sockets than allowed; this, their oldest, goes.
    pub const TOO_MANY_SESSIONS: CloseReason =
        CloseReason { code: close_code::TOO_MANY_SESSIONS, reason: "too many sessions" };
    /// The client did not answer a ping within a period.
    pub const PING_TIMEOUT: CloseReason = CloseReason { code: close_code::PING_TIMEOUT, reason: "ping timeout" };
    /// The client sent a frame the protocol forbids: unmasked, with reserved bits set, or
    /// otherwise malformed (RFC 6455 §7.4.1).
    pub const PROTOCOL_ERROR: CloseReason = CloseReason { code: PROTOCOL_ERROR_CODE, reason: "protocol error" };
    /// The client sent a text frame that is not UTF-8.
    pub const INVALID_UTF8: CloseReason = CloseReason { code: INVALID_UTF8_CODE, reason: "invalid UTF-8" };
    /// The client vanished (or its socket failed): nothing is sent.
    pub const CONNECTION_LOST: CloseReason = CloseReason { code: CONNECTION_LOST_CODE, reason: "connection lost" };

    /// The client sent a close frame with `code` (or none): the answer echoes it, 1000 when
    /// there is none, and 1002 for a code no endpoint may send (RFC 6455 §7.4).
    pub fn closed_by_client(code: Option<u16>) -> CloseReason {
        let echoed = match code {
            None => close_code::NORMAL_CLOSURE,
            Some(code) if CloseCode::from(code).is_allowed() => code,
            Some(_) => PROTOCOL_ERROR_CODE,
        };
        CloseReason { code: echoed, reason: CLOSED_BY_CLIENT }
    }

    /// The code to echo, when this answers a client's close frame.
    pub fn echo_code(self) -> Option<u16> {
        (self.reason == CLOSED_BY_CLIENT).then_some(self.code)
    }

    /// The close frame to send, unless the client is already gone, or closed first (that
    /// answer is [`CloseReason::echo_code`]'s).
    pub fn frame(self) -> Option<Message> {
        (self != CloseReason::CONNECTION_LOST && self.echo_code().is_none()).then(|| {
            Message::Close(Some(CloseFrame {
                code: CloseCode::from(self.code),
                reason: Utf8Bytes::from_static(self.reason),
            }))
        })
    }
}

/// The reason recorded for a socket the client closed.
const CLOSED_BY_CLIENT: &str = "closed by the client";
/// RFC 6455's codes for a protocol error and for data that does not match its type.
const PROTOCOL_ERROR_CODE: u16 = 1002;
const INVALID_UTF8_CODE: u16 = 1007;
