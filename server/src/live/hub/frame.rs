//! A server-to-client WebSocket text frame, encoded once and written to every socket as it is.
//!
//! Why the hub frames its messages itself rather than handing them to tungstenite: a server's
//! frames are never masked (RFC 6455 §5.1), so a frame's bytes are the same for every
//! recipient. Encoded once per message, a socket writes the frames waiting for it straight
//! from the shared bytes with one vectored write, instead of copying each into a write buffer
//! of its own first. Under load that buffer capped a write at about a dozen frames (a bigger
//! one stays allocated for the socket's life: tungstenite never shrinks it), and every write
//! is a trip through the kernel's TCP stack; docs/PERFORMANCE.md has the measurements.
//! tungstenite still reads the client's frames and writes the few control frames.

use bytes::{BufMut, Bytes, BytesMut};

/// FIN set, opcode 1 (text): a whole message in one frame.
const FIN_TEXT: u8 = 0x81;
/// The first byte of a frame whose payload length needs 16 more bits.
const LENGTH_16: u8 = 126;
/// The first byte of a frame whose payload length needs 64 more bits.
const LENGTH_64: u8 = 127;

/// One complete text frame: header and UTF-8 payload, cheap to clone (a reference count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    bytes: Bytes,
    header_len: u8,
}

impl Frame {
    /// The frame carrying `text` as one unmasked, unfragmented text message.
    pub fn text(text: &str) -> Frame {
        let payload_len = text.len();
        let header_len: u8 = match payload_len {
            0..=125 => 2,
            126..=0xFFFF => 4,
            _ => 10,
        };
        let mut bytes = BytesMut::with_capacity(usize::from(header_len) + payload_len);
        bytes.put_u8(FIN_TEXT);
        match header_len {
            // The arms above bound each length to its field's width.
            2 => bytes.put_u8(payload_len as u8),
            4 => {
                bytes.put_u8(LENGTH_16);
                bytes.put_u16(payload_len as u16);
            }
            _ => {
                bytes.put_u8(LENGTH_64);
                bytes.put_u64(payload_len as u64);
            }
        }
        bytes.put_slice(text.as_bytes());
        Frame { bytes: bytes.freeze(), header_len }
    }

    /// The frame as it goes on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The length of the message it carries, in bytes.
    pub fn payload_len(&self) -> usize {
        self.bytes.len() - usize::from(self.header_len)
    }

    /// The message it carries.
    pub fn payload(&self) -> &str {
        let payload = &self.bytes[usize::from(self.header_len)..];
        // Built from a `&str` in `Frame::text`, and immutable since.
        std::str::from_utf8(payload).expect("a text frame's payload is the UTF-8 it was made of")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;
    use tokio_tungstenite::{
        tungstenite::{protocol::Role, Message},
        WebSocketStream,
    };

    /// Every length form of the header (7, 16 and 64 bits), at its edges, is read back by
    /// tungstenite as the message it was made of.
    #[tokio::test]
    async fn a_client_reads_frames_of_every_length_form_as_their_messages() {
        let lengths = [0, 1, 125, 126, 127, 0xFFFF, 0x1_0000, 70_000];
        let messages: Vec<String> = lengths
            .iter()
            .enumerate()
            .map(|(index, &length)| "é".repeat(length / 2) + &"x".repeat(length % 2 + index))
            .collect();
        let (mut server, client) = tokio::io::duplex(1 << 20);
        let mut client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        for message in &messages {
            let frame = Frame::text(message);
            assert_eq!(frame.payload(), message);
            assert_eq!(frame.payload_len(), message.len());
            server.write_all(frame.as_bytes()).await.unwrap();
        }
        for message in &messages {
            let read = client.next().await.expect("a frame").expect("a valid frame");
            assert_eq!(read, Message::Text(message.as_str().into()));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 200, ..Default::default() })]

        /// Any text, at any length up to past the 16-bit form, is read back by tungstenite as
        /// the message it was made of, and the frame's own view of it agrees.
        #[test]
        fn any_text_frame_reads_back_as_its_message(
            fill in proptest::char::any(),
            length in 0usize..70_000,
            tail in "\\PC{0,40}",
        ) {
            let text: String = std::iter::repeat_n(fill, length / fill.len_utf8()).collect::<String>() + &tail;
            let frame = Frame::text(&text);
            proptest::prop_assert_eq!(frame.payload(), text.as_str());
            proptest::prop_assert_eq!(frame.payload_len(), text.len());
            let mut client = tokio_tungstenite::tungstenite::WebSocket::from_raw_socket(
                std::io::Cursor::new(frame.as_bytes().to_vec()),
                Role::Client,
                None,
            );
            proptest::prop_assert_eq!(client.read().expect("a valid frame"), Message::Text(text.as_str().into()));
        }
    }
}
