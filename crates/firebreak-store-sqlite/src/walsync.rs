//! Group commit for the SQLite writer. The write connection commits with
//! `synchronous = NORMAL`: the commit is in the write-ahead log (WAL) file, in the operating
//! system's cache, but not yet on disk. Every write then waits here until an `fdatasync` of
//! the WAL that *began after its commit* has returned — only then does the store report the
//! write done (and a client hear 2xx). One `fdatasync` serves every commit made before it
//! started, and the writer connection is free for the next transaction while the disk
//! works, so commits no longer queue behind each other's flushes.
//!
//! Durability is the same as `synchronous = FULL`: the WAL holds every committed frame until
//! a checkpoint has copied it into the database file, and with `NORMAL` SQLite syncs the WAL
//! before and the database file after each checkpoint. When the WAL file is missing, the last
//! connection checkpointed and removed it, which again synced the database file first. The
//! folder is synced once for each new WAL file, so its directory entry survives power loss.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use tokio::sync::oneshot;

type Reply = oneshot::Sender<Result<(), String>>;

/// The handle writes wait on; the syncing thread stops when it is dropped.
pub(crate) struct WalSync {
    requests: mpsc::Sender<Reply>,
}

impl WalSync {
    /// Starts the syncing thread for the database file at `db`.
    pub(crate) fn start(db: &Path) -> io::Result<Self> {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let dir = match db.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (requests, rx) = mpsc::channel::<Reply>();
        std::thread::Builder::new().name("firebreak-walsync".into()).spawn(move || run(&wal, &dir, &rx))?;
        Ok(WalSync { requests })
    }

    /// Returns once everything committed before the call is on disk.
    pub(crate) async fn sync(&self) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.requests.send(reply).map_err(|_| "the WAL sync thread has stopped".to_owned())?;
        answer.await.map_err(|_| "the WAL sync thread has stopped".to_owned())?
    }
}

fn run(wal: &Path, dir: &Path, requests: &mpsc::Receiver<Reply>) {
    let mut synced_file: Option<(u64, u64)> = None;
    while let Ok(first) = requests.recv() {
        // Everyone waiting now committed before this sync starts.
        let waiting: Vec<Reply> = std::iter::once(first).chain(requests.try_iter()).collect();
        let result = sync_wal(wal, dir, &mut synced_file).map_err(|e| format!("cannot sync {}: {e}", wal.display()));
        if let Err(e) = &result {
            tracing::error!(error = %e, "write-ahead log sync failed; the writes waiting on it report failure");
        }
        for reply in waiting {
            let _ = reply.send(result.clone());
        }
    }
}

fn sync_wal(wal: &Path, dir: &Path, synced_file: &mut Option<(u64, u64)>) -> io::Result<()> {
    let file = match File::open(wal) {
        Ok(f) => f,
        // Checkpointed into the (synced) database file and removed by the last connection.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    file.sync_data()?;
    let meta = file.metadata()?;
    let identity = (meta.dev(), meta.ino());
    if *synced_file != Some(identity) {
        File::open(dir)?.sync_all()?;
        *synced_file = Some(identity);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn syncs_an_existing_wal_and_tolerates_a_missing_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = dir.path().join("x.db");
        let sync = WalSync::start(&db).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sync.sync().await, Ok(()), "no WAL yet: nothing to sync");
        std::fs::write(dir.path().join("x.db-wal"), b"frames").unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = tokio::join!(sync.sync(), sync.sync());
        assert_eq!((a, b), (Ok(()), Ok(())));
    }

    #[tokio::test]
    async fn a_sync_failure_is_reported() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // A WAL path under a plain file cannot be opened (not a directory), even as root.
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"").unwrap_or_else(|e| panic!("{e}"));
        let sync = WalSync::start(&file.join("x.db")).unwrap_or_else(|e| panic!("{e}"));
        let got = sync.sync().await;
        assert!(got.as_ref().is_err_and(|e| e.contains("cannot sync")), "{got:?}");
    }
}
