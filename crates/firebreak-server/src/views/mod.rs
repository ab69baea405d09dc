//! Presentation both transports share, below them and the application layer: pure functions
//! from domain values to text (no state, no I/O), and the list envelopes.

pub mod markdown;

/// Cursor-paginated list envelope.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ListBody<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Plain items envelope.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ItemsBody<T> {
    pub items: Vec<T>,
}
