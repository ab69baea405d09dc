//! `firebreak admin`: offline commands that work on the database directly, for bootstrapping
//! and for auditors. Every change they make is audited like any other.

use crate::config::{DbArgs, load, open_store, redact, sqlite_path};
use anyhow::Context;
use clap::Subcommand;
use firebreak_domain::{Actor, AuditVerification, Email, UserRole, Via};
use firebreak_server::app::access::{create_account, issue_token};
use std::io::BufRead;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a user. Prints a generated password unless --password-stdin is given.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin (everything), responder (works incidents) or viewer (reads only)
        #[arg(long, value_parser = ["admin", "responder", "viewer"])]
        role: String,
        /// Read the password (at least 12 characters) from the first line of standard input
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: AdminDb,
    },
    /// Create an API token for a user and print only the token (shown once; stored hashed).
    CreateToken {
        #[arg(long)]
        email: String,
        /// What the token is for [default: cli]
        #[arg(long, default_value = "cli")]
        name: String,
        #[command(flatten)]
        db: AdminDb,
    },
    /// Check the audit log's hash chain. Exits 0 when intact, 1 naming the first bad entry.
    VerifyAudit {
        #[command(flatten)]
        db: AdminDb,
    },
    /// Write a consistent copy of a SQLite database to a new file while the server runs.
    /// (PostgreSQL: use pg_dump.)
    Backup {
        /// The new file to write (must not exist)
        #[arg(long, value_name = "FILE")]
        to: std::path::PathBuf,
        #[command(flatten)]
        db: AdminDb,
    },
}

/// Which database an admin command works on: the one `serve` would use (`--database`,
/// `FIREBREAK_DATABASE_URL`, the config file, the default), which must exist.
#[derive(clap::Args)]
pub struct AdminDb {
    #[command(flatten)]
    db: DbArgs,
    /// Create the database when there is none at that address yet. Without it a missing
    /// SQLite file is an error, so a command run from the wrong folder does not start an
    /// empty database.
    #[arg(long)]
    create: bool,
}

fn operator() -> Actor {
    let who = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    Actor::system(format!("firebreak admin ({who})"), Via::Admin)
}

/// Opens the database of `args`, saying on stderr which one it is.
async fn store_for(args: &AdminDb) -> anyhow::Result<firebreak_store::DynStore> {
    let settings = load(args.db.config.as_ref(), &args.db)?;
    match sqlite_path(&settings.database_url) {
        Some(path) => {
            let shown = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
            if !path.exists() && !args.create {
                anyhow::bail!(
                    "there is no database at {}\n\
                     run this where `firebreak serve` runs, point at the database with --database sqlite://PATH \
                     (or FIREBREAK_DATABASE_URL, or database_url in the --config file), \
                     or add --create to start a new one there",
                    shown.display()
                );
            }
            eprintln!("database: {}", shown.display());
        }
        None => eprintln!("database: {}", redact(&settings.database_url)),
    }
    open_store(&settings.database_url)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&settings.database_url)))
}

pub async fn run(cmd: AdminCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AdminCommand::CreateUser { email, name, role, password_stdin, db } => {
            let role: UserRole = role.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
                Some(line.trim_end_matches(['\n', '\r']).to_owned())
            } else {
                None
            };
            let store = store_for(&db).await?;
            let (user, generated) = create_account(&store, &operator(), &email, &name, role, password)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            eprintln!("created {} user {} ({})", user.role, user.email, user.id);
            if let Some(p) = generated {
                println!("{p}");
                eprintln!("that is the generated password: it is shown only once");
            }
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::CreateToken { email, name, db } => {
            let email: Email = email.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = store_for(&db).await?;
            let creds = store.credentials(&email).await?.with_context(|| {
                format!("no user has the email {email}; create one with `firebreak admin create-user`")
            })?;
            let (_, secret) = issue_token(&store, &operator(), creds.user.id, &name)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!("{secret}");
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Backup { to, db } => {
            let store = store_for(&db).await?;
            eprintln!("writing a copy of the database to {} …", to.display());
            store.backup_to(&to).await?;
            store
                .append_audit(&operator(), "database.backup", &format!("file:{}", to.display()), serde_json::json!({}))
                .await?;
            let size = std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
            println!("backup written to {} ({} KiB)", to.display(), size / 1024);
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::VerifyAudit { db } => {
            let store = store_for(&db).await?;
            match store.verify_audit().await? {
                AuditVerification::Intact { entries } => {
                    println!("audit log intact: {entries} entries");
                    Ok(ExitCode::SUCCESS)
                }
                AuditVerification::Broken { seq, reason } => {
                    println!("audit log BROKEN at entry {seq}: {reason}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
