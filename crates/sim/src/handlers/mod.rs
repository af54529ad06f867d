//! Request handlers, one module per request family. Each turns a decoded
//! request and the market into the frames TWS would send back.

pub mod contracts;
pub mod history;
pub mod market_data;
