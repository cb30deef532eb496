//! Request bodies fed chunk by chunk from a Varnish worker thread, and response bodies read the same way.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

/// How many request body chunks may wait for the backend: a slow backend slows the sender down instead of the body
/// piling up in memory.
const QUEUED_CHUNKS: usize = 4;

/// A request body whose chunks arrive from [`BodyWriter`]; empty when there is none.
#[derive(Debug)]
pub struct RequestBody {
    chunks: Option<mpsc::Receiver<Result<Bytes, BodyAborted>>>,
    length: Option<u64>,
}

/// The request body ended before it was complete (the client went away): the backend must not take the part as the
/// whole.
#[derive(Debug, Clone, Copy)]
pub struct BodyAborted;

impl std::fmt::Display for BodyAborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body ended early")
    }
}

impl std::error::Error for BodyAborted {}

impl RequestBody {
    /// No body.
    #[must_use]
    pub fn empty() -> Self {
        Self { chunks: None, length: Some(0) }
    }

    /// A streamed body of `length` bytes (unknown: chunked on HTTP/1.1) and the writer that feeds it.
    #[must_use]
    pub fn channel(length: Option<u64>) -> (Self, BodyWriter) {
        let (tx, rx) = mpsc::channel(QUEUED_CHUNKS);
        (Self { chunks: Some(rx), length }, BodyWriter { tx })
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BodyAborted;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyAborted>>> {
        let Some(rx) = self.chunks.as_mut() else { return Poll::Ready(None) };
        match rx.poll_recv(cx) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(Frame::data(chunk)))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
            Poll::Ready(None) => {
                self.chunks = None;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        self.length.map_or_else(SizeHint::default, SizeHint::with_exact)
    }
}

/// Feeds a [`RequestBody`] from a thread outside the runtime (a Varnish worker).
#[derive(Debug)]
pub struct BodyWriter {
    tx: mpsc::Sender<Result<Bytes, BodyAborted>>,
}

impl BodyWriter {
    /// Queues `chunk`, waiting while the backend is behind. False when the request is over (the backend answered
    /// or failed): stop sending.
    #[must_use]
    pub fn write(&self, chunk: &[u8]) -> bool {
        chunk.is_empty() || self.tx.blocking_send(Ok(Bytes::copy_from_slice(chunk))).is_ok()
    }

    /// Marks the body as cut short, so that the request fails rather than sending a truncated body as complete.
    pub fn abort(self) {
        let _ = self.tx.blocking_send(Err(BodyAborted));
    }
}
