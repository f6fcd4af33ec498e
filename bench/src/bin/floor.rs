//! The bare floor for the benchmarks: the least work a WebSocket broadcast can cost on this
//! machine. No auth, no database, no JSON parsing: a tokio-tungstenite server that relays
//! each trigger line to every connected socket as the same two frames MiseOS sends for a new
//! ingredient request (an announcement and a count; `app`'s wire types), serialized once and
//! shared.
//!
//! `floor --ws 127.0.0.1:7001 --trigger 127.0.0.1:7002`; the load generator connects its
//! sessions to `--ws` and writes one line per event (`bench-<n>`) to `--trigger`.

use app::wire::{
    Category, IngredientDetails, Item, ItemDetails, NewItemNotice, Notification, Person, Quantity, ReviewStatus,
    SessionType, WELCOME_MESSAGE,
};
use clap::Parser;
use futures::{SinkExt, StreamExt};
use std::net::SocketAddr;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    net::{TcpListener, TcpStream},
    sync::broadcast,
};
use tokio_tungstenite::tungstenite::{protocol::WebSocketConfig, Message, Utf8Bytes};

#[derive(Parser)]
#[command(about = "Minimal broadcast server: the floor the MiseOS hub is compared with")]
struct Args {
    /// Where WebSocket clients connect.
    #[arg(long, default_value = "127.0.0.1:7001")]
    ws: SocketAddr,
    /// Where the load generator writes one line per event.
    #[arg(long, default_value = "127.0.0.1:7002")]
    trigger: SocketAddr,
    /// Frames a session may lag behind before it is dropped.
    #[arg(long, default_value_t = 256)]
    queue: usize,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let (frames, _) = broadcast::channel::<Utf8Bytes>(args.queue);
    let sockets = TcpListener::bind(args.ws).await?;
    let triggers = TcpListener::bind(args.trigger).await?;
    eprintln!("floor: websocket on {}, triggers on {}", args.ws, args.trigger);
    let publisher = frames.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = triggers.accept().await {
            tokio::spawn(relay_triggers(stream, publisher.clone()));
        }
    });
    loop {
        let (stream, _) = sockets.accept().await?;
        tokio::spawn(serve_socket(stream, frames.subscribe()));
    }
}

/// The timestamp every floor frame carries (the server's format, a fixed minute).
const TIMESTAMP: &str = "2026-03-27 10:15";

/// Turns each line `bench-<n>` into the two frames and broadcasts them.
async fn relay_triggers(stream: TcpStream, frames: broadcast::Sender<Utf8Bytes>) {
    let mut lines = BufReader::new(stream).lines();
    let mut seq = 0i64;
    while let Ok(Some(name)) = lines.next_line().await {
        seq += 1;
        let requested_by = Person { id: app::wire::UserId(3), first_name: "Ali".into(), last_name: "Hassan".into() };
        // As the server sends it: a 13-digit Unix millisecond.
        let created_at_millis = 1_774_606_500_000;
        // The whole item, as the load generator posts it (API.md section 12).
        let item = Item {
            id: seq,
            details: IngredientDetails {
                item_name: name.clone(),
                quantity: Quantity(1.0),
                unit: "kg".into(),
                note: None,
            },
            status: ReviewStatus::Pending,
            requested_by: requested_by.clone(),
            created_at: TIMESTAMP.into(),
            created_at_millis,
            reviewed_by: None,
            reviewed_at: None,
            reviewed_at_millis: None,
            review_note: None,
            escalated_at_millis: None,
        };
        let announcement = Notification::new_item(NewItemNotice {
            category: Category::IngredientRequest,
            request_id: seq,
            item_name: name,
            requested_by,
            timestamp: TIMESTAMP.into(),
            created_at_millis,
            item: Some(Box::new(IngredientDetails::into_any(item))),
        });
        let count = Notification::PendingCountUpdated {
            category: Category::IngredientRequest,
            count: seq,
            seq,
            timestamp: TIMESTAMP.into(),
        };
        // No receivers is fine: nobody is connected yet.
        let _ = frames.send(encode(&announcement));
        let _ = frames.send(encode(&count));
    }
}

/// Serializes a message once, as the server's hub does.
fn encode(message: &Notification) -> Utf8Bytes {
    Utf8Bytes::from(serde_json::to_string(message).expect("notifications always serialize"))
}

/// One session: greet, then write every broadcast frame, batching what is waiting.
async fn serve_socket(stream: TcpStream, mut frames: broadcast::Receiver<Utf8Bytes>) {
    // The same small read buffer as the server: tungstenite zero-fills it on the first read.
    let config = WebSocketConfig::default().read_buffer_size(512).write_buffer_size(16 * 1024);
    let Ok(socket) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else { return };
    let (mut sink, mut incoming) = socket.split();
    let welcome = Notification::Connected {
        message: WELCOME_MESSAGE.into(),
        session_type: SessionType::Admin,
        user_id: app::wire::UserId(1),
        kitchen_id: app::wire::KitchenId(1),
        timestamp: TIMESTAMP.into(),
        // As long as the server's.
        epoch: "0123456789abcdef".into(),
        chefs_online: None,
    };
    if sink.send(Message::Text(encode(&welcome))).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            frame = frames.recv() => {
                let Ok(frame) = frame else { return };
                if sink.feed(Message::Text(frame)).await.is_err() {
                    return;
                }
                while let Ok(frame) = frames.try_recv() {
                    if sink.feed(Message::Text(frame)).await.is_err() {
                        return;
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
            message = incoming.next() => match message {
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}
