//! Where the bus hands what it carries in this process: the hub, for every event, resync and
//! claim, and, for session endings, both the session cache (their tokens are refused from
//! now on) and the hub (their sockets are closed with 1008 and the ending's reason).

use super::{
    bus::Handler,
    hub::{CloseReason, Hub},
};
use crate::{
    accounts::SessionCache,
    event::{Event, PendingCounts, SessionsEnded, StaffClaim},
};
use app::wire::KitchenId;

/// The bus's one handler in a serving process.
pub struct LiveHandler {
    pub hub: Hub,
    pub sessions: SessionCache,
}

impl Handler for LiveHandler {
    fn event(&self, event: &Event) {
        self.hub.publish(event);
    }

    fn resync(&self, kitchen: KitchenId, counts: PendingCounts) {
        self.hub.resync(kitchen, counts);
    }

    fn claim(&self, claim: StaffClaim) {
        self.hub.apply_claim(claim);
    }

    fn sessions_ended(&self, ended: &SessionsEnded) {
        // The cache first: a socket registering meanwhile checks it after it registers.
        self.sessions.ended(&ended.endings);
        let closes: Vec<_> =
            ended.endings.iter().map(|(session, reason)| (*session, CloseReason::policy(reason.reason()))).collect();
        self.hub.close_sockets_of(&closes);
    }
}
