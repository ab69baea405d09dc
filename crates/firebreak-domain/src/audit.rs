//! The audit log's hash chain. Each entry's hash covers the previous entry's hash and the
//! entry's own canonical content, so changing, deleting or inserting a row out of band breaks
//! the chain at that row. The store also keeps the head (last sequence number and hash) in a
//! separate row, which catches removal of the newest entries.

use crate::time::{Timestamp, canonical};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an audit entry says, in the order it is hashed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditContent {
    pub seq: i64,
    #[serde(serialize_with = "ser_ts")]
    #[schema(value_type = String)]
    pub at: Timestamp,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub via: String,
    /// Dotted action name, e.g. `incident.create`.
    pub action: String,
    /// What was acted on, e.g. `incident:<uuid>`.
    pub target: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

fn ser_ts<S: serde::Serializer>(at: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&canonical(*at))
}

/// A stored audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    #[serde(flatten)]
    pub content: AuditContent,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditContent {
    /// The canonical bytes hashed: compact JSON with struct fields in declaration order and
    /// object keys in `details` sorted (serde_json's default map is ordered).
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The hash of this content chained after `prev_hash`.
    pub fn chain_hash(&self, prev_hash: &str) -> String {
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(b"\n");
        h.update(self.canonical_json().as_bytes());
        hex::encode(h.finalize())
    }

    /// Seals this content after `prev_hash`.
    pub fn seal(self, prev_hash: &str) -> AuditEntry {
        let hash = self.chain_hash(prev_hash);
        AuditEntry { content: self, prev_hash: prev_hash.to_owned(), hash }
    }
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerification {
    Intact {
        entries: u64,
    },
    /// The first entry (by sequence number) where the chain breaks, and why.
    Broken {
        seq: i64,
        reason: String,
    },
}

/// Walks entries in ascending `seq` and checks the chain, then checks the recorded head.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_prev: String,
    expected_seq: i64,
    count: u64,
    broken: Option<(i64, String)>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { expected_prev: GENESIS_HASH.to_owned(), expected_seq: 1, count: 0, broken: None }
    }
}

impl ChainVerifier {
    /// Feeds the next entry; after the first break, further entries are ignored.
    pub fn push(&mut self, entry: &AuditEntry) {
        if self.broken.is_some() {
            return;
        }
        let seq = entry.content.seq;
        let fail = |reason: String| Some((seq, reason));
        self.broken = if let Some(gap) = self.out_of_sequence(seq) {
            Some(gap)
        } else if entry.prev_hash != self.expected_prev {
            fail(format!("entry {seq} does not follow entry {}: previous hash differs", seq - 1))
        } else if entry.content.chain_hash(&entry.prev_hash) != entry.hash {
            fail(format!("entry {seq} was changed: its content does not match its hash"))
        } else {
            None
        };
        self.expected_prev = entry.hash.clone();
        self.expected_seq = seq + 1;
        self.count += 1;
    }

    /// Feeds the row at `seq` whose stored content cannot even be read (`why`): it was changed
    /// out of band into something Firebreak never writes. Earlier breaks still come first.
    pub fn push_unreadable(&mut self, seq: i64, why: &str) {
        if self.broken.is_some() {
            return;
        }
        self.broken = Some(
            self.out_of_sequence(seq)
                .unwrap_or_else(|| (seq, format!("entry {seq} was changed: its content cannot be read ({why})"))),
        );
        self.expected_seq = seq + 1;
        self.count += 1;
    }

    /// The break when `seq` is not the next sequence number.
    fn out_of_sequence(&self, seq: i64) -> Option<(i64, String)> {
        if seq > self.expected_seq {
            Some((self.expected_seq, format!("entry {} is missing (next entry is {seq})", self.expected_seq)))
        } else if seq < self.expected_seq {
            Some((seq, format!("entry {seq} is out of order or duplicated")))
        } else {
            None
        }
    }

    /// Finishes against the head the store recorded (`None` when nothing was ever written).
    pub fn finish(self, head: Option<(i64, String)>) -> AuditVerification {
        if let Some((seq, reason)) = self.broken {
            return AuditVerification::Broken { seq, reason };
        }
        let last_seq = self.expected_seq - 1;
        match head {
            None if self.count == 0 => AuditVerification::Intact { entries: 0 },
            None => AuditVerification::Broken { seq: 1, reason: "entries exist but the chain head is missing".into() },
            Some((head_seq, head_hash)) => {
                if head_seq > last_seq {
                    AuditVerification::Broken {
                        seq: last_seq + 1,
                        reason: format!(
                            "the chain head is entry {head_seq} but the last entry found is {last_seq}: entries were removed"
                        ),
                    }
                } else if head_seq < last_seq {
                    AuditVerification::Broken {
                        seq: head_seq + 1,
                        reason: format!(
                            "entry {} comes after the chain head (entry {head_seq}): it was inserted out of band",
                            head_seq + 1
                        ),
                    }
                } else if head_hash != self.expected_prev {
                    AuditVerification::Broken {
                        seq: last_seq,
                        reason: format!("entry {last_seq} does not match the chain head"),
                    }
                } else {
                    AuditVerification::Intact { entries: self.count }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let c = AuditContent {
                    seq,
                    at: Utc.timestamp_opt(1_800_000_000 + seq, 0).single().unwrap_or_default(),
                    actor_id: None,
                    actor_name: "test".into(),
                    via: "api".into(),
                    action: "incident.create".into(),
                    target: format!("incident:{seq}"),
                    details: serde_json::json!({"b": 1, "a": [seq]}),
                };
                let e = c.seal(&prev);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(entries: &[AuditEntry], head: Option<(i64, String)>) -> AuditVerification {
        let mut v = ChainVerifier::default();
        entries.iter().for_each(|e| v.push(e));
        v.finish(head)
    }

    fn head(entries: &[AuditEntry]) -> Option<(i64, String)> {
        entries.last().map(|e| (e.content.seq, e.hash.clone()))
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify(&c, head(&c)), AuditVerification::Intact { entries: 5 });
        assert_eq!(verify(&[], None), AuditVerification::Intact { entries: 0 });
    }

    #[test]
    fn changed_content_is_found() {
        let mut c = chain(5);
        let h = head(&c);
        c[2].content.actor_name = "mallory".into();
        assert!(matches!(verify(&c, h), AuditVerification::Broken { seq: 3, .. }));
    }

    #[test]
    fn unreadable_entry_is_found_in_order() {
        let c = chain(5);
        let h = head(&c);
        let mut v = ChainVerifier::default();
        c[..2].iter().for_each(|e| v.push(e));
        v.push_unreadable(3, "bad JSON");
        c[3..].iter().for_each(|e| v.push(e));
        assert!(
            matches!(v.finish(h.clone()), AuditVerification::Broken { seq: 3, ref reason } if reason.contains("cannot be read"))
        );

        // A gap before the unreadable row is the first break.
        let mut v = ChainVerifier::default();
        v.push(&c[0]);
        v.push_unreadable(3, "bad JSON");
        assert!(matches!(v.finish(h), AuditVerification::Broken { seq: 2, .. }));
    }

    #[test]
    fn deleted_entry_is_found() {
        let mut c = chain(5);
        let h = head(&c);
        c.remove(1);
        assert!(matches!(verify(&c, h), AuditVerification::Broken { seq: 2, .. }));
    }

    #[test]
    fn deleted_last_entry_is_found_through_the_head() {
        let mut c = chain(5);
        let h = head(&c);
        c.pop();
        assert!(matches!(verify(&c, h), AuditVerification::Broken { seq: 5, .. }));
    }

    #[test]
    fn inserted_entry_is_found() {
        let c = chain(3);
        let h = head(&c);
        let mut forged = c[1].clone();
        forged.content.seq = 3;
        forged.content.action = "user.create".into();
        forged.prev_hash = c[1].hash.clone();
        forged.hash = forged.content.chain_hash(&forged.prev_hash);
        let mut tampered = c[..2].to_vec();
        tampered.push(forged);
        let mut rest = c[2].clone();
        rest.content.seq = 4;
        tampered.push(rest);
        assert!(matches!(verify(&tampered, h), AuditVerification::Broken { .. }));
    }

    #[test]
    fn appended_entry_beyond_the_head_is_found() {
        let c = chain(4);
        let h = Some((3, c[2].hash.clone()));
        assert!(matches!(verify(&c, h), AuditVerification::Broken { seq: 4, .. }));
    }

    #[test]
    fn canonical_json_is_stable() {
        let c = &chain(1)[0].content;
        assert_eq!(
            c.canonical_json(),
            r#"{"seq":1,"at":"2027-01-15T08:00:01.000000Z","actor_id":null,"actor_name":"test","via":"api","action":"incident.create","target":"incident:1","details":{"a":[1],"b":1}}"#
        );
    }
}
