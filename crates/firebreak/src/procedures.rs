//! `firebreak procedures`: check a procedures directory (decision trees, playbooks, contact
//! lists, templates, config) before it is used, in CI or by hand; write the example one.

use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ProceduresCommand {
    /// Check a procedures directory; prints `file:line: problem` lines and exits 1 when
    /// anything is wrong.
    ///
    /// Example, in CI:
    ///   firebreak procedures validate procedures/
    Validate(ValidateArgs),
    /// Write the example procedures directory (a severity tree, two playbooks, contact lists,
    /// update templates, config.yaml) to start from.
    ///
    /// Example:
    ///   firebreak procedures init procedures/ && firebreak procedures validate procedures/
    Init(InitArgs),
}

#[derive(Args)]
pub struct ValidateArgs {
    /// The procedures directory.
    pub dir: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct InitArgs {
    /// Where to write it (created; must be empty or absent).
    pub dir: PathBuf,
}

/// The example directory (docs/procedures-example), built into the binary.
const EXAMPLE: &[(&str, &str)] = &[
    ("README.md", include_str!("../../../docs/procedures-example/README.md")),
    ("config.yaml", include_str!("../../../docs/procedures-example/config.yaml")),
    ("trees/severity.yaml", include_str!("../../../docs/procedures-example/trees/severity.yaml")),
    ("playbooks/major-outage.md", include_str!("../../../docs/procedures-example/playbooks/major-outage.md")),
    ("playbooks/security-incident.md", include_str!("../../../docs/procedures-example/playbooks/security-incident.md")),
    ("contacts/executives.yaml", include_str!("../../../docs/procedures-example/contacts/executives.yaml")),
    ("contacts/security-team.yaml", include_str!("../../../docs/procedures-example/contacts/security-team.yaml")),
    ("templates/internal.md.j2", include_str!("../../../docs/procedures-example/templates/internal.md.j2")),
    (
        "templates/customer-initial.md.j2",
        include_str!("../../../docs/procedures-example/templates/customer-initial.md.j2"),
    ),
    ("templates/executive.md.j2", include_str!("../../../docs/procedures-example/templates/executive.md.j2")),
];

pub fn run(cmd: ProceduresCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ProceduresCommand::Validate(a) => validate(&a.dir, a.json),
        ProceduresCommand::Init(a) => init(&a.dir),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn validate(dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    match firebreak_server::procedures::load_dir(dir) {
        Ok(p) => {
            if json {
                let summary = serde_json::json!({
                    "ok": true,
                    "trees": p.trees.keys().collect::<Vec<_>>(),
                    "triage_tree": p.triage_tree,
                    "playbooks": p.playbooks.iter().map(|b| serde_json::json!({"name": b.name, "steps": b.steps.len(), "version": b.content_hash})).collect::<Vec<_>>(),
                    "contact_lists": p.contact_lists.keys().collect::<Vec<_>>(),
                    "templates": p.templates.keys().collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                println!(
                    "{}: {}, {}, {}, {} — no problems",
                    dir.display(),
                    plural(p.trees.len(), "decision tree", "decision trees"),
                    plural(p.playbooks.len(), "playbook", "playbooks"),
                    plural(p.contact_lists.len(), "contact list", "contact lists"),
                    plural(p.templates.len(), "template", "templates"),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            for e in &problems {
                let file = dir.join(&e.file);
                if e.line > 0 {
                    eprintln!("{}:{}: {}", file.display(), e.line, e.message);
                } else {
                    eprintln!("{}: {}", file.display(), e.message);
                }
            }
            eprintln!("{} in {}", plural(problems.len(), "problem", "problems"), dir.display());
            Ok(ExitCode::from(1))
        }
    }
}

fn init(dir: &Path) -> anyhow::Result<ExitCode> {
    if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        anyhow::bail!("{} exists and is not empty: choose a new directory", dir.display());
    }
    for (path, text) in EXAMPLE {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, text).with_context(|| format!("cannot write {}", target.display()))?;
    }
    println!(
        "wrote {} files to {}; check them with: firebreak procedures validate {}",
        EXAMPLE.len(),
        dir.display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
