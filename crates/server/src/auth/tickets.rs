//! Short-lived, single-use tickets for the WebSocket. Browsers cannot set
//! an `Authorization` header on a WebSocket, and a long-lived token in a
//! URL ends up in logs and histories; so a client first asks
//! `POST /api/v1/ws/ticket` with its token and opens
//! `/api/v1/ws?ticket=...` within [`TICKET_TTL`]. A ticket works once and
//! carries the identity of the token that asked for it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore as _;

use super::Identity;

/// How long a ticket stays valid.
pub const TICKET_TTL: Duration = Duration::from_secs(30);
/// Tickets outstanding at most (unused ones expire).
const MAX_TICKETS: usize = 1024;

/// The tickets issued and not yet used or expired.
#[derive(Debug, Default)]
pub struct Tickets {
    issued: Mutex<HashMap<String, (Instant, Identity)>>,
}

impl Tickets {
    /// A new ticket for `identity`, or `None` when too many are outstanding.
    pub fn issue(&self, identity: Identity) -> Option<String> {
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued.retain(|_, (expires, _)| *expires > now);
        if issued.len() >= MAX_TICKETS {
            return None;
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let ticket: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        issued.insert(ticket.clone(), (now + TICKET_TTL, identity));
        Some(ticket)
    }

    /// The identity of `ticket` if it is valid; it is spent either way.
    pub fn redeem(&self, ticket: &str) -> Option<Identity> {
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        let (expires, identity) = issued.remove(ticket)?;
        (expires > Instant::now()).then_some(identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    #[test]
    fn a_ticket_works_once() {
        let tickets = Tickets::default();
        let who = Identity {
            name: "ops".into(),
            role: Role::Viewer,
        };
        let t = tickets.issue(who.clone()).unwrap();
        assert_eq!(t.len(), 64);
        assert_eq!(tickets.redeem(&t), Some(who));
        assert_eq!(tickets.redeem(&t), None);
        assert_eq!(tickets.redeem("not-a-ticket"), None);
    }
}
