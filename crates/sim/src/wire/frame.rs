//! Frames: a 4-byte big-endian length, then the body. After the handshake a
//! body starts with a 4-byte big-endian message id; ids above 200 carry a
//! protobuf message of type `id - 200`.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest body either client accepts (16 MiB - 1); a longer length is a
/// broken or hostile peer.
pub const MAX_BODY: usize = 0x00FF_FFFF;

/// Protobuf message ids on the wire are the table id plus this.
pub const PROTOBUF_OFFSET: u32 = 200;

/// The highest server version the two clients know; answered to both.
pub const SERVER_VERSION: u32 = 226;
/// The lowest version whose every request the simulator can read (protobuf).
pub const MIN_CLIENT_VERSION: u32 = 213;

/// Why a peer's bytes were refused; the connection is closed.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the client did not start with the API\\0 prefix")]
    BadPrefix,
    #[error("frame length {0} is outside 4..={MAX_BODY}")]
    BadLength(usize),
    #[error("version offer {0:?} is not v<min>..<max>")]
    BadVersionOffer(String),
    #[error("the client supports versions up to {max}, below {MIN_CLIENT_VERSION}")]
    VersionTooOld { max: u32 },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// One message after the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The wire id (protobuf ids include the +200 offset).
    pub id: u32,
    pub payload: Vec<u8>,
}

impl Message {
    /// The protobuf message type, if this is a protobuf frame.
    pub fn protobuf_type(&self) -> Option<u32> {
        self.id
            .checked_sub(PROTOBUF_OFFSET)
            .filter(|_| self.id > PROTOBUF_OFFSET)
    }
}

/// Reads one frame body; `None` at a clean end of stream.
pub async fn read_body<R: AsyncRead + Unpin>(
    r: &mut R,
    min_len: usize,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len < min_len || len > MAX_BODY {
        return Err(FrameError::BadLength(len));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    Ok(Some(body))
}

/// Reads one message (id + payload); `None` at a clean end of stream.
pub async fn read_message<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Message>, FrameError> {
    let Some(body) = read_body(r, 4).await? else {
        return Ok(None);
    };
    let id = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
    Ok(Some(Message {
        id,
        payload: body[4..].to_vec(),
    }))
}

/// Encodes a protobuf message of table id `type_id` as one frame.
pub fn encode_protobuf(type_id: u32, message: &impl prost::Message) -> Vec<u8> {
    let payload = message.encode_to_vec();
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&((payload.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&(type_id + PROTOBUF_OFFSET).to_be_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Reads the client's handshake: `API\0`, then a frame `v<min>..<max>`
/// (anything after a space is connect options, ignored). Returns the
/// version to answer.
pub async fn read_handshake<R: AsyncRead + Unpin>(r: &mut R) -> Result<u32, FrameError> {
    let mut prefix = [0u8; 4];
    r.read_exact(&mut prefix).await?;
    if &prefix != b"API\0" {
        return Err(FrameError::BadPrefix);
    }
    let body = read_body(r, 1).await?.ok_or(FrameError::BadPrefix)?;
    let text = String::from_utf8_lossy(&body).into_owned();
    negotiate(&text)
}

/// The version to answer for an offer such as `v213..226`.
pub fn negotiate(offer: &str) -> Result<u32, FrameError> {
    let bad = || FrameError::BadVersionOffer(offer.chars().take(64).collect());
    let range = offer.split(' ').next().unwrap_or("");
    let range = range.strip_prefix('v').ok_or_else(bad)?;
    let (min, max) = match range.split_once("..") {
        Some((a, b)) => (
            a.parse::<u32>().map_err(|_| bad())?,
            b.parse::<u32>().map_err(|_| bad())?,
        ),
        None => {
            let v = range.parse::<u32>().map_err(|_| bad())?;
            (v, v)
        }
    };
    if min > max {
        return Err(bad());
    }
    if max < MIN_CLIENT_VERSION {
        return Err(FrameError::VersionTooOld { max });
    }
    Ok(max.min(SERVER_VERSION))
}

/// The server's handshake reply: version and connection time, two
/// NUL-terminated fields, no message id, written alone.
pub async fn write_handshake_reply<W: AsyncWrite + Unpin>(
    w: &mut W,
    version: u32,
    connection_time: &str,
) -> std::io::Result<()> {
    let body = format!("{version}\0{connection_time}\0");
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body.as_bytes());
    w.write_all(&out).await?;
    w.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_answers_the_clients_max_up_to_226() {
        assert_eq!(negotiate("v213..226").unwrap(), 226);
        assert_eq!(negotiate("v100..226 +PACEAPI").unwrap(), 226);
        assert_eq!(negotiate("v213..300").unwrap(), 226);
        assert_eq!(negotiate("v213..220").unwrap(), 220);
        assert!(matches!(
            negotiate("v100..200"),
            Err(FrameError::VersionTooOld { max: 200 })
        ));
        for bad in ["", "213..226", "vabc", "v226..213", "v..", "v1..x"] {
            assert!(
                matches!(negotiate(bad), Err(FrameError::BadVersionOffer(_))),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn frames_round_trip_and_bad_lengths_are_refused() {
        let frame = encode_protobuf(9, &crate::wire::messages::NextValidId { order_id: Some(7) });
        let mut r = &frame[..];
        let m = read_message(&mut r).await.unwrap().unwrap();
        assert_eq!((m.id, m.protobuf_type()), (209, Some(9)));
        assert_eq!(read_message(&mut r).await.unwrap(), None);
        let huge = [0x01u8, 0x00, 0x00, 0x00];
        assert!(matches!(
            read_message(&mut &huge[..]).await,
            Err(FrameError::BadLength(0x0100_0000))
        ));
        let short = [0u8, 0, 0, 2, 1, 2];
        assert!(matches!(
            read_message(&mut &short[..]).await,
            Err(FrameError::BadLength(2))
        ));
        let truncated = [0u8, 0, 0, 9, 0, 0, 0, 209];
        assert!(matches!(
            read_message(&mut &truncated[..]).await,
            Err(FrameError::Io(_))
        ));
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Arbitrary bytes after a valid handshake, or instead of one:
        /// the reader returns frames or an error, never panics or
        /// allocates past the cap.
        #[test]
        fn arbitrary_bytes_never_panic_the_frame_reader(
            handshake in any::<bool>(),
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            rt.block_on(async {
                let mut input = Vec::new();
                if handshake {
                    input.extend_from_slice(b"API\0\x00\x00\x00\x09v213..226");
                }
                input.extend_from_slice(&bytes);
                let mut r = input.as_slice();
                if read_handshake(&mut r).await.is_err() {
                    return;
                }
                while let Ok(Some(m)) = read_message(&mut r).await {
                    assert!(m.payload.len() < MAX_BODY);
                }
            });
        }
    }
}
