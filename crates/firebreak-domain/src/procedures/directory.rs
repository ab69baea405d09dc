//! A whole procedures directory, checked together: decision trees (`trees/*.yaml`),
//! playbooks (`playbooks/*.md`, `*.yaml`), contact lists (`contacts/*.yaml`), update
//! templates (`templates/*.j2`), drill scenarios (`drills/*.yaml`) and the incident types
//! and severities (`config.yaml`). Every name one file gives another must exist.

use super::playbook::{Playbook, ReferenceKind};
use super::tree::DecisionTree;
use super::{ProcedureError, line_of, yaml_error};
use crate::{IncidentType, Severity};
use marked_yaml::Spanned;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// One file as read from the directory: its path relative to the directory, and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactListFile {
    #[serde(default)]
    name: Option<Spanned<String>>,
    #[serde(default)]
    description: Option<String>,
    members: Vec<Spanned<MemberFile>>,
    #[serde(default)]
    escalate_to: Option<Spanned<String>>,
    #[serde(default)]
    escalate_after: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberFile {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// Someone a contact list reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "address", rename_all = "snake_case")]
pub enum ListMember {
    /// A Firebreak user (by email), reached through their contact methods.
    User(String),
    /// An outside address, reached by email.
    Email(String),
}

/// A named group of people and addresses: a contact list or stakeholder group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ContactList {
    pub name: String,
    pub description: String,
    pub members: Vec<ListMember>,
    /// Another list to notify when nobody here acknowledges within `escalate_after_minutes`.
    pub escalate_to: Option<String>,
    pub escalate_after_minutes: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    severities: HashMap<Spanned<String>, Spanned<LevelFile>>,
    #[serde(default)]
    types: HashMap<Spanned<String>, Spanned<LevelFile>>,
    #[serde(default)]
    triage_tree: Option<Spanned<String>>,
    #[serde(default)]
    roles: HashMap<Spanned<String>, RoleFile>,
    #[serde(default)]
    review: Option<ReviewFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    #[serde(default)]
    description: Option<String>,
}

/// The built-in response roles and what each does.
pub const BUILTIN_ROLES: [(&str, &str); 4] = [
    ("commander", "Leads the response: decides, delegates, keeps the big picture."),
    ("communications", "Keeps stakeholders informed: sends the updates on their cadence."),
    ("scribe", "Keeps the timeline: notes decisions, findings and actions as they happen."),
    ("operations_lead", "Leads the hands-on work: investigates, contains and fixes."),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelFile {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    acknowledge_within: Option<Spanned<String>>,
    #[serde(default)]
    contain_within: Option<Spanned<String>>,
    #[serde(default)]
    update_every: Option<Spanned<String>>,
    #[serde(default)]
    escalation_policy: Option<String>,
    #[serde(default)]
    stakeholder_groups: Vec<Spanned<String>>,
    #[serde(default)]
    restricted: Option<bool>,
    #[serde(default)]
    component_status: Option<Spanned<String>>,
    #[serde(default)]
    postmortem: Option<Spanned<String>>,
    #[serde(default)]
    postmortem_required: Option<bool>,
    #[serde(default)]
    postmortem_due: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewFile {
    #[serde(default)]
    action_webhook: Option<Spanned<String>>,
    #[serde(default)]
    action_webhook_secret: Option<Spanned<String>>,
}

/// Post-incident review settings from `config.yaml`'s `review:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReviewSettings {
    /// Where action item events are posted (signed) so trackers can mirror them.
    pub action_webhook: Option<String>,
    /// The name of the server secret (`[secrets]` / `FIREBREAK_SECRET_<NAME>`) that signs them.
    pub action_webhook_secret: Option<String>,
}

/// What a severity or an incident type means for the response: its targets and who hears.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ResponseLevel {
    pub description: String,
    pub acknowledge_within_minutes: Option<u32>,
    pub contain_within_minutes: Option<u32>,
    /// Stakeholder updates are due this often while the incident is open.
    pub update_every_minutes: Option<u32>,
    /// The escalation policy (by name) that pages for it, over the service's own.
    pub escalation_policy: Option<String>,
    pub stakeholder_groups: Vec<String>,
    /// Visible only to participants and admins (security incidents by default).
    pub restricted: bool,
    /// Of a severity: what an open incident of it shows on its services' status page
    /// components (`None`: [`crate::status_page::ComponentStatus::for_severity`]).
    #[schema(value_type = Option<String>)]
    pub component_status: Option<crate::status_page::ComponentStatus>,
    /// The postmortem template (by name) its incidents' postmortems start from; a type's
    /// wins over a severity's, and the built-in blameless one serves when none is named.
    pub postmortem: Option<String>,
    /// Of a severity: its incidents cannot be closed until their postmortem is published.
    pub postmortem_required: bool,
    /// Of a severity: the postmortem is due this long after resolution (the commander is
    /// reminded once when it is late).
    pub postmortem_due_minutes: Option<u32>,
}

/// Everything in a procedures directory, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Procedures {
    pub trees: BTreeMap<String, DecisionTree>,
    pub playbooks: Vec<Playbook>,
    pub contact_lists: BTreeMap<String, ContactList>,
    /// Stakeholder update templates by name (their minijinja is checked by the renderer).
    pub templates: BTreeMap<String, super::template::UpdateTemplate>,
    /// Postmortem templates by name (`postmortems/*.md`; the built-in `blameless` one when
    /// the directory has none of that name).
    pub postmortems: BTreeMap<String, super::postmortem::PostmortemTemplate>,
    pub severities: BTreeMap<Severity, ResponseLevel>,
    pub types: BTreeMap<IncidentType, ResponseLevel>,
    /// The tree incidents are triaged with.
    pub triage_tree: String,
    /// Response roles people can hold on an incident (the built-in ones and the team's own):
    /// name → what the role does.
    pub roles: BTreeMap<String, String>,
    pub review: ReviewSettings,
    /// Drill scenarios by name (`drills/*.yaml`).
    pub drills: BTreeMap<String, super::drill::DrillScenario>,
}

/// The severities' and types' meaning when `config.yaml` does not say otherwise.
pub fn default_levels() -> (BTreeMap<Severity, ResponseLevel>, BTreeMap<IncidentType, ResponseLevel>) {
    let level = |d: &str, ack, contain, update| ResponseLevel {
        description: d.to_owned(),
        acknowledge_within_minutes: ack,
        contain_within_minutes: contain,
        update_every_minutes: update,
        ..ResponseLevel::default()
    };
    // Critical and high incidents get a postmortem within five days of resolution.
    let reviewed = |l: ResponseLevel| ResponseLevel { postmortem_due_minutes: Some(5 * 24 * 60), ..l };
    let severities = BTreeMap::from([
        (
            Severity::Critical,
            reviewed(level(
                "Most customers cannot use a core service, or data is exposed.",
                Some(5),
                Some(60),
                Some(30),
            )),
        ),
        (
            Severity::High,
            reviewed(level(
                "Many customers are affected, or a core service is degraded.",
                Some(15),
                Some(4 * 60),
                Some(60),
            )),
        ),
        (Severity::Medium, level("Some customers are affected and a workaround exists.", Some(60), None, Some(4 * 60))),
        (Severity::Low, level("Little or no customer impact.", Some(24 * 60), None, None)),
    ]);
    let types = BTreeMap::from([
        (IncidentType::Outage, level("Something does not work.", None, None, None)),
        (IncidentType::Degradation, level("Something works badly: slow, partial, flaky.", None, None, None)),
        (
            IncidentType::Security,
            ResponseLevel {
                restricted: true,
                ..level("A security event: exposure, intrusion, abuse.", None, None, None)
            },
        ),
        (IncidentType::Other, level("Anything else.", None, None, None)),
    ]);
    (severities, types)
}

fn stem(path: &str) -> &str {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.split('.').next().unwrap_or(file)
}

fn minutes(v: &Option<Spanned<String>>, what: &str, file: &str, errors: &mut Vec<ProcedureError>) -> Option<u32> {
    let v = v.as_ref()?;
    let m = super::playbook::parse_due(v);
    if m.is_none() {
        errors.push(ProcedureError {
            file: file.to_owned(),
            line: line_of(v),
            message: format!("`{what}` {:?}: use minutes, hours or days, e.g. 15m, 4h, 1d", v.as_str()),
        });
    }
    m
}

/// A contact list's escalation, checked once every list is known.
struct Escalation {
    path: String,
    name: String,
    to: Option<(String, usize)>,
}

/// A severity's or type's settings from `config.yaml` over `base`.
fn level(
    key: &Spanned<String>,
    l: &LevelFile,
    base: ResponseLevel,
    file: &str,
    known: (&BTreeMap<String, ContactList>, &BTreeMap<String, super::postmortem::PostmortemTemplate>),
    errors: &mut Vec<ProcedureError>,
) -> ResponseLevel {
    let (lists, postmortems) = known;
    if let Some(p) = &l.postmortem
        && !postmortems.contains_key(p.as_str())
    {
        errors.push(ProcedureError {
            file: file.to_owned(),
            line: line_of(p),
            message: format!(
                "{}: unknown postmortem template {:?} (add postmortems/{}.md)",
                key.as_str(),
                p.as_str(),
                p.as_str()
            ),
        });
    }
    let mut groups = Vec::new();
    for g in &l.stakeholder_groups {
        if !lists.contains_key(g.as_str()) {
            errors.push(ProcedureError {
                file: file.to_owned(),
                line: line_of(g),
                message: format!(
                    "{}: unknown stakeholder group {:?} (add contacts/{}.yaml)",
                    key.as_str(),
                    g.as_str(),
                    g.as_str()
                ),
            });
        }
        groups.push(g.to_string());
    }
    ResponseLevel {
        description: l.description.clone().unwrap_or(base.description),
        acknowledge_within_minutes: minutes(&l.acknowledge_within, "acknowledge_within", file, errors)
            .or(base.acknowledge_within_minutes),
        contain_within_minutes: minutes(&l.contain_within, "contain_within", file, errors)
            .or(base.contain_within_minutes),
        update_every_minutes: minutes(&l.update_every, "update_every", file, errors).or(base.update_every_minutes),
        escalation_policy: l.escalation_policy.clone(),
        stakeholder_groups: groups,
        restricted: l.restricted.unwrap_or(base.restricted),
        component_status: match &l.component_status {
            Some(word) => match word.as_str().parse::<crate::status_page::ComponentStatus>() {
                Ok(status) => Some(status),
                Err(e) => {
                    let message = format!("{}: component_{e}", key.as_str());
                    errors.push(ProcedureError { file: file.to_owned(), line: line_of(word), message });
                    base.component_status
                }
            },
            None => base.component_status,
        },
        postmortem: l.postmortem.as_ref().map(|p| p.to_string()).or(base.postmortem),
        postmortem_required: l.postmortem_required.unwrap_or(base.postmortem_required),
        postmortem_due_minutes: minutes(&l.postmortem_due, "postmortem_due", file, errors)
            .or(base.postmortem_due_minutes),
    }
}

/// `review:` checked: the webhook an absolute http(s) URL, the secret a server secret's name.
fn review_settings(r: &ReviewFile, file: &str, errors: &mut Vec<ProcedureError>) -> ReviewSettings {
    let mut out = ReviewSettings::default();
    if let Some(url) = &r.action_webhook {
        match crate::review::parse_link(url.as_str()) {
            Ok(u) => out.action_webhook = u,
            Err(_) => errors.push(ProcedureError {
                file: file.to_owned(),
                line: line_of(url),
                message: format!("review: `action_webhook` {:?} is not an absolute http(s) URL", url.as_str()),
            }),
        }
    }
    if let Some(name) = &r.action_webhook_secret {
        let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            out.action_webhook_secret = Some(name.to_string());
        } else {
            errors.push(ProcedureError {
                file: file.to_owned(),
                line: line_of(name),
                message: format!(
                    "review: `action_webhook_secret` {:?} must name a server secret (letters, digits, `_`), not hold one",
                    name.as_str()
                ),
            });
        }
    }
    if let (Some(url), None) = (&r.action_webhook, &r.action_webhook_secret) {
        errors.push(ProcedureError {
            file: file.to_owned(),
            line: line_of(url),
            message:
                "review: `action_webhook` needs `action_webhook_secret`, the name of the server secret that signs \
                      its deliveries (e.g. TRACKER, set as FIREBREAK_SECRET_TRACKER)"
                    .to_owned(),
        });
    }
    if out.action_webhook_secret.is_some() && out.action_webhook.is_none() {
        errors.push(ProcedureError {
            file: file.to_owned(),
            line: r.action_webhook_secret.as_ref().map(line_of).unwrap_or(0),
            message: "review: `action_webhook_secret` without `action_webhook`".to_owned(),
        });
    }
    out
}

impl Procedures {
    /// The built-in procedures: the default tree and levels, no playbooks.
    pub fn builtin() -> Procedures {
        let tree = DecisionTree::parse("(built-in)/trees/severity.yaml", super::tree::DEFAULT_TREE, "severity")
            .unwrap_or_else(|_| unreachable!("the built-in tree is checked by its tests"));
        let (severities, types) = default_levels();
        Procedures {
            trees: BTreeMap::from([(tree.name.clone(), tree)]),
            severities,
            types,
            triage_tree: "severity".into(),
            postmortems: BTreeMap::from([(
                super::postmortem::DEFAULT_NAME.to_owned(),
                super::postmortem::PostmortemTemplate::builtin(),
            )]),
            roles: BUILTIN_ROLES.iter().map(|(n, d)| ((*n).to_owned(), (*d).to_owned())).collect(),
            ..Procedures::default()
        }
    }

    /// Checks every file and the names they give each other. Files outside the known folders
    /// (and hidden ones) are ignored; a README is welcome.
    pub fn load(files: &[SourceFile]) -> Result<Procedures, Vec<ProcedureError>> {
        let mut errors = Vec::new();
        let builtin = Procedures::builtin();
        let mut out = Procedures {
            severities: builtin.severities,
            types: builtin.types,
            roles: builtin.roles,
            postmortems: builtin.postmortems,
            ..Procedures::default()
        };
        let mut postmortem_files: Vec<String> = Vec::new();
        let mut tree_files = Vec::new();
        let mut playbook_files = Vec::new();
        let mut template_files: Vec<String> = Vec::new();
        let mut escalations: Vec<Escalation> = Vec::new();
        let mut config_file: Option<&SourceFile> = None;
        for f in files {
            let path = f.path.as_str();
            let (folder, name) = path.split_once('/').unwrap_or(("", path));
            if name.starts_with('.') || path.starts_with('.') {
                continue;
            }
            let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
            match folder {
                "trees" if yaml => match DecisionTree::parse(path, &f.text, stem(path)) {
                    Ok(t) => {
                        if out.trees.contains_key(&t.name) {
                            errors.push(ProcedureError {
                                file: path.into(),
                                line: 1,
                                message: format!("another tree is named {:?}", t.name),
                            });
                        }
                        tree_files.push((path.to_owned(), t.name.clone()));
                        out.trees.insert(t.name.clone(), t);
                    }
                    Err(e) => errors.extend(e),
                },
                "playbooks" if yaml || name.ends_with(".md") => match Playbook::parse(path, &f.text) {
                    Ok(p) => {
                        if out.playbooks.iter().any(|o| o.name == p.name) {
                            errors.push(ProcedureError {
                                file: path.into(),
                                line: 2,
                                message: format!("another playbook is named {:?}", p.name),
                            });
                        }
                        playbook_files.push((path.to_owned(), p.name.clone()));
                        out.playbooks.push(p);
                    }
                    Err(e) => errors.extend(e),
                },
                "contacts" if yaml => match marked_yaml::from_yaml::<ContactListFile>(0, &f.text) {
                    Ok(raw) => {
                        let list_name =
                            raw.name.as_ref().map(|n| n.to_string()).unwrap_or_else(|| stem(path).to_owned());
                        let mut members = Vec::new();
                        for m in &raw.members {
                            match (&m.user, &m.email) {
                                (Some(u), None) => members.push(ListMember::User(u.trim().to_lowercase())),
                                (None, Some(e)) if e.parse::<crate::Email>().is_ok() => {
                                    members.push(ListMember::Email(e.trim().to_lowercase()))
                                }
                                (None, Some(e)) => errors.push(ProcedureError { file: path.into(), line: line_of(m), message: format!("{e:?} is not an email address") }),
                                _ => errors.push(ProcedureError { file: path.into(), line: line_of(m), message: "a member is either `user: EMAIL` (a Firebreak user) or `email: ADDRESS` (someone outside)".into() }),
                            }
                        }
                        if members.is_empty() && errors.iter().all(|e| e.file != path) {
                            errors.push(ProcedureError {
                                file: path.into(),
                                line: 1,
                                message: "a contact list needs at least one member".into(),
                            });
                        }
                        let escalate_after_minutes = minutes(&raw.escalate_after, "escalate_after", path, &mut errors);
                        escalations.push(Escalation {
                            path: path.to_owned(),
                            name: list_name.clone(),
                            to: raw.escalate_to.as_ref().map(|t| (t.to_string(), line_of(t))),
                        });
                        if out.contact_lists.contains_key(&list_name) {
                            errors.push(ProcedureError {
                                file: path.into(),
                                line: 1,
                                message: format!("another contact list is named {list_name:?}"),
                            });
                        }
                        out.contact_lists.insert(
                            list_name.clone(),
                            ContactList {
                                name: list_name,
                                description: raw.description.unwrap_or_default(),
                                members,
                                escalate_to: raw.escalate_to.map(|t| t.to_string()),
                                escalate_after_minutes,
                            },
                        );
                    }
                    Err(e) => errors.push(yaml_error(path, e)),
                },
                "templates" if name.ends_with(".j2") => {
                    match super::template::UpdateTemplate::parse(path, stem(path), &f.text) {
                        Ok(t) => {
                            if out.templates.contains_key(&t.name) {
                                errors.push(ProcedureError {
                                    file: path.into(),
                                    line: 1,
                                    message: format!("another template is named {:?}", t.name),
                                });
                            }
                            template_files.push(path.to_owned());
                            out.templates.insert(t.name.clone(), t);
                        }
                        Err(e) => errors.extend(e),
                    }
                }
                "postmortems" if name.ends_with(".md") => {
                    match super::postmortem::PostmortemTemplate::parse(path, stem(path), &f.text) {
                        Ok(t) => {
                            if postmortem_files.iter().any(|p| stem(p) == t.name) {
                                errors.push(ProcedureError {
                                    file: path.into(),
                                    line: 1,
                                    message: format!("another postmortem template is named {:?}", t.name),
                                });
                            }
                            postmortem_files.push(path.to_owned());
                            // A file named like the built-in one replaces it.
                            out.postmortems.insert(t.name.clone(), t);
                        }
                        Err(e) => errors.extend(e),
                    }
                }
                "drills" if yaml => match super::drill::DrillScenario::parse(path, stem(path), &f.text) {
                    Ok(d) => {
                        if out.drills.contains_key(&d.name) {
                            errors.push(ProcedureError {
                                file: path.into(),
                                line: 1,
                                message: format!("another drill scenario is named {:?}", d.name),
                            });
                        }
                        out.drills.insert(d.name.clone(), d);
                    }
                    Err(e) => errors.extend(e),
                },
                "" if name == "config.yaml" || name == "config.yml" => config_file = Some(f),
                _ => {}
            }
        }
        let config = config_file.and_then(|f| match marked_yaml::from_yaml::<ConfigFile>(0, &f.text) {
            Ok(raw) => Some((f, raw)),
            Err(e) => {
                errors.push(yaml_error(&f.path, e));
                None
            }
        });
        if let Some((f, raw)) = &config {
            for (name, role) in &raw.roles {
                match crate::RoleName::parse(name.as_str()) {
                    Ok(n) => {
                        out.roles.insert(n.to_string(), role.description.clone().unwrap_or_default());
                    }
                    Err(e) => errors.push(ProcedureError {
                        file: f.path.clone(),
                        line: line_of(name),
                        message: super::domain_message(&e),
                    }),
                }
            }
        }
        // Names given across files.
        let names = |kind: ReferenceKind| -> Vec<String> {
            match kind {
                ReferenceKind::ContactList => out.contact_lists.keys().cloned().collect(),
                ReferenceKind::Template => out.templates.keys().cloned().collect(),
                ReferenceKind::Role => out.roles.keys().cloned().collect(),
                ReferenceKind::Secret => Vec::new(),
            }
        };
        let (lists, templates, roles) =
            (names(ReferenceKind::ContactList), names(ReferenceKind::Template), names(ReferenceKind::Role));
        for (path, name) in &playbook_files {
            let Some(p) = out.playbooks.iter().find(|p| &p.name == name) else { continue };
            for r in p.references() {
                let (known, what) = match r.kind {
                    ReferenceKind::ContactList => (&lists, "contact list"),
                    ReferenceKind::Template => (&templates, "template"),
                    ReferenceKind::Role => (&roles, "role"),
                    ReferenceKind::Secret => continue,
                };
                if !known.contains(&r.name) {
                    let hint = match r.kind {
                        ReferenceKind::Role => " (declare it under `roles:` in config.yaml)",
                        _ => "",
                    };
                    errors.push(ProcedureError {
                        file: path.clone(),
                        line: r.line,
                        message: format!("unknown {what} {:?}{hint}", r.name),
                    });
                }
            }
        }
        for path in &template_files {
            let Some(t) = out.templates.get(stem(path)) else { continue };
            for (list, line) in t.to.iter().zip(&t.to_lines) {
                if !lists.contains(list) {
                    errors.push(ProcedureError {
                        file: path.clone(),
                        line: *line,
                        message: format!("unknown contact list {list:?} (add contacts/{list}.yaml)"),
                    });
                }
            }
        }
        let playbook_names: Vec<&str> = out.playbooks.iter().map(|p| p.name.as_str()).collect();
        for (path, name) in &tree_files {
            if let Some(t) = out.trees.get(name) {
                errors.extend(t.unknown_playbooks(path, &playbook_names));
            }
        }
        for e in &escalations {
            if let Some((target, line)) = &e.to
                && (target == &e.name || !out.contact_lists.contains_key(target))
            {
                errors.push(ProcedureError {
                    file: e.path.clone(),
                    line: *line,
                    message: format!("`escalate_to` names {target:?}, which is not another contact list"),
                });
            }
        }
        // Types and severities.
        out.triage_tree = "severity".into();
        if let Some((f, raw)) = config {
            {
                {
                    for (key, l) in &raw.severities {
                        match key.parse::<Severity>() {
                            Ok(s) => {
                                let base = out.severities.get(&s).cloned().unwrap_or_default();
                                let v =
                                    level(key, l, base, &f.path, (&out.contact_lists, &out.postmortems), &mut errors);
                                out.severities.insert(s, v);
                            }
                            Err(e) => errors.push(ProcedureError {
                                file: f.path.clone(),
                                line: line_of(key),
                                message: super::domain_message(&e),
                            }),
                        }
                    }
                    for (key, l) in &raw.types {
                        match key.parse::<IncidentType>() {
                            Ok(t) => {
                                let base = out.types.get(&t).cloned().unwrap_or_default();
                                let v =
                                    level(key, l, base, &f.path, (&out.contact_lists, &out.postmortems), &mut errors);
                                out.types.insert(t, v);
                            }
                            Err(e) => errors.push(ProcedureError {
                                file: f.path.clone(),
                                line: line_of(key),
                                message: super::domain_message(&e),
                            }),
                        }
                    }
                    if let Some(t) = &raw.triage_tree {
                        out.triage_tree = t.to_string();
                        if !out.trees.contains_key(t.as_str()) {
                            errors.push(ProcedureError {
                                file: f.path.clone(),
                                line: line_of(t),
                                message: format!("`triage_tree` names an unknown tree {:?}", t.as_str()),
                            });
                        }
                    }
                    if let Some(r) = &raw.review {
                        out.review = review_settings(r, &f.path, &mut errors);
                    }
                }
            }
        }
        if !out.trees.contains_key(&out.triage_tree) {
            // No tree of that name: the built-in one triages.
            let builtin = Procedures::builtin();
            if let Some(t) = builtin.trees.get("severity") {
                out.trees.entry("severity".into()).or_insert_with(|| t.clone());
            }
        }
        if !errors.is_empty() {
            errors.sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
            errors.dedup();
            return Err(errors);
        }
        out.playbooks.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
