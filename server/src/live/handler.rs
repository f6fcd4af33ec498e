//! Where the bus hands what it carries in this process: the hub, for every event, resync,
//! claim, count of chefs online, kitchen's settings and escalation, and, for session endings, the session cache (their tokens are refused from now on),
//! which has their sockets closed with 1008 and the ending's reason ([`close_sockets`]).

use super::{
    bus::Handler,
    hub::{CloseReason, Hub},
};
use crate::{
    accounts::{sessions::OnEnded, SessionCache},
    event::{ChefsOnline, Escalation, Event, KitchenUpdate, PendingCounts, SessionsEnded, StaffClaim},
};
use app::wire::KitchenId;
use std::sync::Arc;

/// What ending a session means for its sockets: each closes with 1008 and the ending's
/// reason. Given to the session cache, which calls it once per ending it learns of.
pub fn close_sockets(hub: Hub) -> Arc<OnEnded> {
    Arc::new(move |endings| {
        let closes: Vec<_> =
            endings.iter().map(|(session, reason)| (*session, CloseReason::policy(reason.reason()))).collect();
        hub.close_sockets_of(&closes);
    })
}

/// The bus's one handler in a serving process.
pub struct LiveHandler {
    pub hub: Hub,
    pub sessions: SessionCache,
}

impl Handler for LiveHandler {
    fn wants(&self, kitchen: KitchenId) -> bool {
        self.hub.is_interested_in(kitchen)
    }

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
        self.sessions.ended(&ended.endings);
    }

    fn chefs_online(&self, online: ChefsOnline) {
        self.hub.set_chefs_online(online);
    }

    fn kitchen_updated(&self, update: &KitchenUpdate) {
        self.hub.kitchen_updated(update);
    }

    fn item_escalated(&self, escalation: &Escalation) {
        self.hub.item_escalated(escalation);
    }
}
