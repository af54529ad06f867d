//! The protobuf messages the simulator reads and writes, field for field as
//! the reference's Appendix A lists them (every field proto3 `optional`).
//! Table ids; the wire adds 200.

/// Request (client → server) table ids.
pub mod request {
    pub const IDS: u32 = 8;
    pub const MANAGED_ACCOUNTS: u32 = 17;
    pub const CURRENT_TIME: u32 = 49;
    pub const START_API: u32 = 71;
    pub const CURRENT_TIME_MILLIS: u32 = 105;
}

/// Reply (server → client) table ids.
pub mod reply {
    pub const ERROR_MESSAGE: u32 = 4;
    pub const NEXT_VALID_ID: u32 = 9;
    pub const MANAGED_ACCOUNTS: u32 = 15;
    pub const CURRENT_TIME: u32 = 49;
    pub const CURRENT_TIME_MILLIS: u32 = 109;
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StartApiRequest {
    #[prost(int32, optional, tag = "1")]
    pub client_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub optional_capabilities: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct IdsRequest {
    #[prost(int32, optional, tag = "1")]
    pub num_ids: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NextValidId {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ManagedAccounts {
    #[prost(string, optional, tag = "1")]
    pub accounts_list: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CurrentTime {
    #[prost(int64, optional, tag = "1")]
    pub current_time: Option<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CurrentTimeInMillis {
    #[prost(int64, optional, tag = "1")]
    pub current_time_in_millis: Option<i64>,
}

/// Errors, warnings and notices (id −1 when about no request).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ErrorMessage {
    #[prost(int32, optional, tag = "1")]
    pub id: Option<i32>,
    /// Milliseconds since the epoch.
    #[prost(int64, optional, tag = "2")]
    pub error_time: Option<i64>,
    #[prost(int32, optional, tag = "3")]
    pub error_code: Option<i32>,
    #[prost(string, optional, tag = "4")]
    pub error_msg: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub advanced_order_reject_json: Option<String>,
}
