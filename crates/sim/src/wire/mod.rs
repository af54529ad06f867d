//! The TWS API wire format: length-prefixed frames, the `API\0` handshake
//! with version negotiation, and the protobuf messages the simulator speaks.
//! Kept apart from the handlers so the codec can be tested on bytes alone.

pub mod frame;
pub mod messages;
pub mod orders;
