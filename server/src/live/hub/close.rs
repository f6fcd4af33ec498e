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
    /// The client vanished (or its socket failed): nothing is sent.
    pub const CONNECTION_LOST: CloseReason = CloseReason { code: CONNECTION_LOST_CODE, reason: "connection lost" };
    /// The client sent a close frame; the socket library answers it, nothing more is sent.
    /// Recorded as a normal closure.
    pub const CLOSED_BY_CLIENT: CloseReason =
        CloseReason { code: close_code::NORMAL_CLOSURE, reason: "closed by the client" };

    /// The close frame to send, unless the client is already gone or closed first.
    pub fn frame(self) -> Option<Message> {
        (self != CloseReason::CONNECTION_LOST && self != CloseReason::CLOSED_BY_CLIENT).then(|| {
            Message::Close(Some(CloseFrame {
                code: CloseCode::from(self.code),
                reason: Utf8Bytes::from_static(self.reason),
            }))
        })
    }
}
