//! The application layer: what a person (or a tool acting for them) can do, once, for every
//! transport. Each capability is one module of operations that take the principal and plain
//! inputs, check access, call the store, wake the engine when something became due, and
//! return domain values or views. The JSON API (`api`), the web UI (`web`), the ingestion
//! endpoints (`ingest`) and the engine call these; this layer imports none of them.

pub mod access;
pub mod alerts;
pub mod calendar;
pub mod catalog;
pub mod checks;
pub mod escalation;
pub mod incidents;
pub mod investigation;
pub mod links;
pub mod mapping;
pub mod oncall;
pub mod paging;
pub mod procedures;
pub mod respond;
pub mod review;
pub mod status_pages;
pub mod triage;
pub mod visibility;
