//! The schedule form: create a schedule (`/schedules/new`) or edit one (`/schedules/{id}/edit`)
//! — name, description, time zone, layers (members in rotation order, the rotation, the first
//! hand-off, on-call windows) and the fallback — with a preview of the next 14 days of shifts
//! before it is saved.
//!
//! It works without JavaScript: its buttons (add or remove a layer, another member or window
//! row, move a member up) post the form, which comes back changed with everything typed. What is
//! valid is the application layer's (`app::oncall`, as for the API): the form only turns its
//! fields into a `ScheduleBody` and shows an error at the field it concerns.

use super::catalog::SelectOption;
use super::oncall::{ShiftRow, shift_rows};
use super::{
    ChoiceGroup, Chrome, Fields, FormHead, PickRow, Problem, Submitted, WebPrincipal, WebResult, answer_at, blank_rows,
    move_up, people_choices, pick_rows, render, see, unless_missing,
};
use crate::AppState;
use crate::app::oncall::{self, ScheduleBody, ScheduleView};
use crate::auth::Principal;
use crate::error::ApiError;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use firebreak_domain::UserId;
use firebreak_domain::schedule::{
    CivilDateTime, Day, LayerDefinition, MAX_LAYERS, MAX_MEMBERS, Override, Restriction, RotationUnit, Time,
    time_zone_names,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schedules/new", get(new_schedule).post(create_schedule))
        .route("/schedules/{id}/edit", get(edit_schedule).post(update_schedule))
}

/// On-call windows of one layer the form takes at most.
const MAX_WINDOWS: usize = 50;

const DAYS: [(Day, &str, &str); 7] = [
    (Day::Monday, "monday", "Monday"),
    (Day::Tuesday, "tuesday", "Tuesday"),
    (Day::Wednesday, "wednesday", "Wednesday"),
    (Day::Thursday, "thursday", "Thursday"),
    (Day::Friday, "friday", "Friday"),
    (Day::Saturday, "saturday", "Saturday"),
    (Day::Sunday, "sunday", "Sunday"),
];

const UNITS: [(RotationUnit, &str); 3] =
    [(RotationUnit::Hours, "hours"), (RotationUnit::Days, "days"), (RotationUnit::Weeks, "weeks")];

/// The kinds of on-call window: (form value, label). Empty is none: all the time.
const WINDOW_KINDS: [(&str, &str); 4] =
    [("", "—"), ("daily", "every day"), ("weekdays", "Monday to Friday"), ("weekly", "once a week")];

fn day_word(d: Day) -> &'static str {
    DAYS.iter().find(|(day, _, _)| *day == d).map(|(_, word, _)| *word).unwrap_or_default()
}

fn unit_word(u: RotationUnit) -> &'static str {
    UNITS.iter().find(|(unit, _)| *unit == u).map(|(_, word)| *word).unwrap_or_default()
}

fn hh_mm(t: Time) -> String {
    t.strftime("%H:%M").to_string()
}

// ---------------------------------------------------------------- the fields

/// What the form shows in its fields: blank, a schedule's, or what was posted.
#[derive(Clone)]
pub struct ScheduleFields {
    pub name: String,
    pub description: String,
    pub time_zone: String,
    /// A user id, or empty for none.
    pub fallback: String,
    pub layers: Vec<LayerFields>,
}

/// One layer's fields.
#[derive(Clone)]
pub struct LayerFields {
    pub name: String,
    /// User ids in rotation order (blank rows left out).
    pub members: Vec<String>,
    /// Blank member rows to show after them.
    pub blank_members: usize,
    pub length: String,
    pub unit: String,
    /// `datetime-local`: `2026-03-02T09:00`, in the schedule's zone.
    pub starts_at: String,
    /// On-call windows (blank rows left out).
    pub windows: Vec<WindowFields>,
    pub blank_windows: usize,
}

/// One on-call window's fields: `kind` is one of [`WINDOW_KINDS`]; the days are for weekly ones.
#[derive(Clone, Default)]
pub struct WindowFields {
    pub kind: String,
    pub start_day: String,
    pub start: String,
    pub end_day: String,
    pub end: String,
}

impl LayerFields {
    /// A new layer: weekly hand-offs at 09:00 from `today` (`2026-03-02`).
    fn blank(today: &str) -> Self {
        LayerFields {
            name: String::new(),
            members: Vec::new(),
            blank_members: 2,
            length: "1".into(),
            unit: "weeks".into(),
            starts_at: format!("{today}T09:00"),
            windows: Vec::new(),
            blank_windows: 1,
        }
    }

    fn of(layer: &LayerDefinition) -> Self {
        let mut windows = Vec::new();
        let mut rest = layer.restrictions.as_slice();
        while !rest.is_empty() {
            if let Some((start, end)) = Restriction::weekdays_at_start(rest) {
                windows.push(WindowFields {
                    kind: "weekdays".into(),
                    start: hh_mm(start),
                    end: hh_mm(end),
                    ..Default::default()
                });
                rest = &rest[5..];
                continue;
            }
            windows.push(match &rest[0] {
                Restriction::Daily { start, end } => {
                    WindowFields { kind: "daily".into(), start: hh_mm(*start), end: hh_mm(*end), ..Default::default() }
                }
                Restriction::Weekly { start_day, start, end_day, end } => WindowFields {
                    kind: "weekly".into(),
                    start_day: day_word(*start_day).into(),
                    start: hh_mm(*start),
                    end_day: day_word(*end_day).into(),
                    end: hh_mm(*end),
                },
            });
            rest = &rest[1..];
        }
        LayerFields {
            name: layer.name.clone(),
            members: layer.members.iter().map(ToString::to_string).collect(),
            blank_members: 1,
            length: layer.rotation_length.to_string(),
            unit: unit_word(layer.rotation_unit).into(),
            starts_at: layer.starts_at.strftime("%Y-%m-%dT%H:%M").to_string(),
            windows,
            blank_windows: 1,
        }
    }

    /// The layer's definition; `i` is its index (for where an error is).
    fn definition(&self, i: usize) -> Result<LayerDefinition, ApiError> {
        let at = |part: &str| format!("layers[{i}].{part}");
        let members = (self.members.iter())
            .map(|m| m.trim().parse::<UserId>())
            .collect::<Result<_, _>>()
            .map_err(|_| ApiError::invalid_at(at("members"), "choose the members from the list"))?;
        let rotation_length = self.length.trim().parse().map_err(|_| {
            ApiError::invalid_at(at("rotation_length"), "the rotation must be a whole number such as 1")
        })?;
        let rotation_unit = (UNITS.iter().find(|(_, word)| *word == self.unit.trim()).map(|(unit, _)| *unit))
            .ok_or_else(|| ApiError::invalid_at(at("rotation_unit"), "choose hours, days or weeks"))?;
        let starts_at =
            self.starts_at.trim().parse::<CivilDateTime>().map_err(|_| {
                ApiError::invalid_at(at("starts_at"), "must be a date and time such as 2026-03-02T09:00")
            })?;
        let mut restrictions = Vec::new();
        for w in &self.windows {
            restrictions.extend(w.restrictions().map_err(|message| ApiError::invalid_at(at("restrictions"), message))?);
        }
        Ok(LayerDefinition {
            name: self.name.clone(),
            members,
            rotation_length,
            rotation_unit,
            starts_at,
            restrictions,
        })
    }
}

impl WindowFields {
    fn is_blank(&self) -> bool {
        self.kind.trim().is_empty()
    }

    fn restrictions(&self) -> Result<Vec<Restriction>, String> {
        let time = |raw: &str| raw.trim().parse::<Time>().map_err(|_| "window times are like 09:00".to_owned());
        let day = |raw: &str| {
            (DAYS.iter().find(|(_, word, _)| *word == raw.trim()).map(|(d, _, _)| *d))
                .ok_or_else(|| "choose the days of a weekly window".to_owned())
        };
        let (start, end) = (time(&self.start)?, time(&self.end)?);
        Ok(match self.kind.trim() {
            "daily" => vec![Restriction::Daily { start, end }],
            "weekdays" => Restriction::weekdays(start, end),
            "weekly" => {
                vec![Restriction::Weekly { start_day: day(&self.start_day)?, start, end_day: day(&self.end_day)?, end }]
            }
            _ => return Err("choose every day, Monday to Friday or once a week".into()),
        })
    }
}

impl ScheduleFields {
    fn blank(today: &str) -> Self {
        ScheduleFields {
            name: String::new(),
            description: String::new(),
            time_zone: "UTC".into(),
            fallback: String::new(),
            layers: vec![LayerFields::blank(today)],
        }
    }

    fn of(s: &ScheduleView) -> Self {
        ScheduleFields {
            name: s.name.clone(),
            description: s.description.clone(),
            time_zone: s.definition.time_zone.clone(),
            fallback: s.definition.fallback.map(|f| f.to_string()).unwrap_or_default(),
            layers: s.definition.layers.iter().map(LayerFields::of).collect(),
        }
    }

    /// The fields as posted (`layer1.name`, `layer1.member`, …, `layer1.window1.kind`, …).
    fn read(f: &Fields) -> Self {
        let layers = (f.groups("layer", MAX_LAYERS + 1).into_iter())
            .map(|n| {
                let key = |k: &str| format!("layer{n}.{k}");
                let posted = f.all(&key("member"));
                let blank_members = posted.iter().filter(|m| m.trim().is_empty()).count();
                let mut members: Vec<String> = posted.into_iter().filter(|m| !m.trim().is_empty()).collect();
                members.truncate(MAX_MEMBERS + 1);
                let windows: Vec<WindowFields> = (f.groups(&key("window"), MAX_WINDOWS + 1).into_iter())
                    .map(|m| {
                        let key = |k: &str| format!("layer{n}.window{m}.{k}");
                        WindowFields {
                            kind: f.one(&key("kind")),
                            start_day: f.one(&key("start_day")),
                            start: f.one(&key("start")),
                            end_day: f.one(&key("end_day")),
                            end: f.one(&key("end")),
                        }
                    })
                    .collect();
                let blank_windows = windows.iter().filter(|w| w.is_blank()).count();
                LayerFields {
                    name: f.one(&key("name")),
                    members,
                    blank_members: blank_rows(blank_members, 0),
                    length: f.one(&key("length")),
                    unit: f.one(&key("unit")),
                    starts_at: f.one(&key("starts_at")),
                    windows: windows.into_iter().filter(|w| !w.is_blank()).collect(),
                    blank_windows: blank_rows(blank_windows, 0),
                }
            })
            .collect();
        ScheduleFields {
            name: f.one("name"),
            description: f.one("description"),
            time_zone: f.one("time_zone"),
            fallback: f.one("fallback"),
            layers,
        }
    }

    /// The schedule as a body for the application layer, with `overrides` (the form does not
    /// edit them: an edit keeps the schedule's own).
    fn body(&self, overrides: Vec<Override>) -> Result<ScheduleBody, ApiError> {
        if let Some(layer) = self.layers.iter().position(|l| l.windows.len() > MAX_WINDOWS) {
            let message = format!("the form takes at most {MAX_WINDOWS} windows a layer");
            return Err(ApiError::invalid_at(format!("layers[{layer}].restrictions"), message));
        }
        let layers = (self.layers.iter().enumerate()).map(|(i, l)| l.definition(i)).collect::<Result<_, _>>()?;
        let fallback = match self.fallback.trim() {
            "" => None,
            id => Some(id.parse().map_err(|_| ApiError::invalid_at("fallback", "choose the fallback from the list"))?),
        };
        Ok(ScheduleBody {
            name: self.name.clone(),
            description: self.description.clone(),
            time_zone: self.time_zone.clone(),
            layers,
            overrides,
            fallback,
        })
    }

    /// Applies one of the form's list buttons; says what changed and where focus goes.
    fn change(&mut self, verb: &str, at: &[usize], today: &str) -> (String, String) {
        let layer = |n: usize| n.checked_sub(1).filter(|i| *i < self.layers.len());
        match (verb, at) {
            ("add-layer", _) if self.layers.len() >= MAX_LAYERS => {
                (format!("A schedule has at most {MAX_LAYERS} layers."), String::new())
            }
            ("add-layer", _) => {
                self.layers.push(LayerFields::blank(today));
                let n = self.layers.len();
                (format!("Layer {n} added."), format!("sf-layer-{n}-name"))
            }
            ("remove-layer", [n]) if layer(*n).is_some() => {
                self.layers.remove(n - 1);
                (format!("Layer {n} removed; the layers after it moved up one."), "sf-layers".into())
            }
            ("more-members", [n]) if layer(*n).is_some() => {
                let l = &mut self.layers[n - 1];
                l.blank_members = blank_rows(l.blank_members, 1);
                let row = l.members.len() + l.blank_members;
                (format!("Member row added to layer {n}."), format!("sf-layer-{n}-members-{row}"))
            }
            ("member-up", [n, m]) if layer(*n).is_some() => {
                move_up(&mut self.layers[n - 1].members, *m);
                let to = m.saturating_sub(1).max(1);
                (format!("Member {m} of layer {n} moved up."), format!("sf-layer-{n}-members-{to}"))
            }
            ("more-windows", [n]) if layer(*n).is_some() => {
                let l = &mut self.layers[n - 1];
                l.blank_windows = blank_rows(l.blank_windows, 1);
                let row = l.windows.len() + l.blank_windows;
                (format!("Window row added to layer {n}."), format!("sf-layer-{n}-window-{row}-kind"))
            }
            _ => (String::new(), String::new()),
        }
    }
}

/// Where an error of the application layer (its `field`) is on this form: the element's id
/// and what the summary calls it.
fn place(path: &str) -> Option<(String, String)> {
    let field = |id: &str, label: &str| Some((id.to_owned(), label.to_owned()));
    match path {
        "name" => field("sf-name", "Name"),
        "description" => field("sf-description", "Description"),
        "time_zone" => field("sf-time-zone", "Time zone"),
        "fallback" => field("sf-fallback", "Fallback"),
        "layers" => field("sf-layers", "Layers"),
        _ => {
            let (index, part) = path.strip_prefix("layers[")?.split_once("].")?;
            let n = index.parse::<usize>().ok()? + 1;
            let (id, label) = match part {
                "name" => ("name", "name"),
                "members" => ("members", "members"),
                "rotation_length" | "rotation_unit" => ("length", "rotation"),
                "starts_at" => ("start", "first hand-off"),
                "restrictions" => ("windows", "on-call windows"),
                _ => return None,
            };
            Some((format!("sf-layer-{n}-{id}"), format!("Layer {n} {label}")))
        }
    }
}

// ---------------------------------------------------------------- the page

/// One layer as the form shows it.
pub struct LayerView {
    pub number: usize,
    pub fields: LayerFields,
    pub members: Vec<PickRow>,
    pub windows: Vec<WindowFields>,
}

/// The shifts a preview shows.
pub struct PreviewView {
    pub days: i64,
    pub time_zone: String,
    pub shifts: Vec<ShiftRow>,
}

#[derive(Template)]
#[template(path = "schedule_form.html")]
struct ScheduleFormPage {
    chrome: Chrome,
    head: FormHead,
    form: ScheduleFields,
    layers: Vec<LayerView>,
    users: Vec<ChoiceGroup>,
    fallbacks: Vec<SelectOption>,
    time_zones: Vec<String>,
    units: Vec<&'static str>,
    days: Vec<(&'static str, &'static str)>,
    window_kinds: Vec<(&'static str, &'static str)>,
    max_layers: usize,
    problem: Problem,
    /// What the last button did, in words.
    status: String,
    /// The id of the element to focus when the page loads, if any.
    focus: String,
    preview: Option<PreviewView>,
}

/// New or edit: what the form is about.
enum Target {
    New,
    Edit(Box<ScheduleView>),
}

impl Target {
    fn overrides(&self) -> Vec<Override> {
        match self {
            Target::New => Vec::new(),
            Target::Edit(s) => s.definition.overrides.clone(),
        }
    }
}

/// The day a new layer's first hand-off falls on: yesterday (UTC), so its 09:00 has passed in
/// every time zone and someone is on call from the moment the schedule is saved (today's 09:00
/// is still to come in the early hours, and a schedule saved then had nobody on call).
fn today(state: &AppState) -> String {
    (state.clock.now() - chrono::TimeDelta::days(1)).format("%Y-%m-%d").to_string()
}

/// The form page with `form` in it.
async fn page(
    state: &AppState,
    p: &Principal,
    target: &Target,
    mut form: ScheduleFields,
) -> WebResult<ScheduleFormPage> {
    let people = state.store.list_users().await?;
    let chosen = |id: &str| form.fallback == id || form.layers.iter().any(|l| l.members.iter().any(|m| m == id));
    let options = people_choices(&people, ToString::to_string, chosen);
    let fallbacks = (options.iter())
        .map(|o| SelectOption { selected: o.value == form.fallback, value: o.value.clone(), label: o.label.clone() })
        .collect();
    let users = vec![ChoiceGroup { label: String::new(), options }];
    let layers = (std::mem::take(&mut form.layers).into_iter().enumerate())
        .map(|(i, mut l)| {
            let members = pick_rows(&l.members, &users, l.blank_members);
            let mut windows = std::mem::take(&mut l.windows);
            windows.extend((0..l.blank_windows).map(|_| WindowFields::default()));
            LayerView { number: i + 1, fields: l, members, windows }
        })
        .collect();
    let head = match target {
        Target::New => FormHead::new("New schedule", "/schedules/new", "Save schedule"),
        Target::Edit(s) => FormHead::edit(&s.name, s.id.to_string(), format!("/schedules/{}/edit", s.id)),
    };
    Ok(ScheduleFormPage {
        chrome: Chrome::for_user(p, "schedules"),
        head,
        form,
        layers,
        users,
        fallbacks,
        time_zones: time_zone_names(),
        units: UNITS.iter().map(|(_, word)| *word).collect(),
        days: DAYS.iter().map(|(_, word, label)| (*word, *label)).collect(),
        window_kinds: WINDOW_KINDS.to_vec(),
        max_layers: MAX_LAYERS,
        problem: Problem::default(),
        status: String::new(),
        focus: String::new(),
        preview: None,
    })
}

async fn new_schedule(State(state): State<AppState>, WebPrincipal(p): WebPrincipal) -> WebResult<Response> {
    oncall::may_edit_schedules(&p)?;
    let form = ScheduleFields::blank(&today(&state));
    Ok(render(&page(&state, &p, &Target::New, form).await?))
}

async fn create_schedule(
    State(state): State<AppState>,
    Submitted(p, fields): Submitted<Fields>,
) -> WebResult<Response> {
    oncall::may_edit_schedules(&p)?;
    answer_form(&state, &p, Target::New, &fields).await
}

/// The schedule `id` for its edit pages; a 404 page when there is none.
async fn schedule_to_edit(state: &AppState, p: &Principal, id: &str) -> WebResult<ScheduleView> {
    oncall::may_edit_schedules(p)?;
    unless_missing(oncall::get_schedule(state, id.to_owned()).await, "There is no such schedule.")?.map_err(Into::into)
}

async fn edit_schedule(
    State(state): State<AppState>,
    WebPrincipal(p): WebPrincipal,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let schedule = schedule_to_edit(&state, &p, &id).await?;
    let form = ScheduleFields::of(&schedule);
    Ok(render(&page(&state, &p, &Target::Edit(Box::new(schedule)), form).await?))
}

async fn update_schedule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Submitted(p, fields): Submitted<Fields>,
) -> WebResult<Response> {
    let schedule = schedule_to_edit(&state, &p, &id).await?;
    answer_form(&state, &p, Target::Edit(Box::new(schedule)), &fields).await
}

/// Answers a post of the form: save it, preview it, or apply one of its list buttons.
async fn answer_form(state: &AppState, p: &Principal, target: Target, fields: &Fields) -> WebResult<Response> {
    let mut form = ScheduleFields::read(fields);
    let (verb, at) = fields.action();
    let again = async |form: ScheduleFields, e: ApiError| {
        let page = page(state, p, &target, form).await?;
        Ok(render(&ScheduleFormPage { problem: Problem::of(&e, place), focus: "problem".into(), ..page }))
    };
    match verb.as_str() {
        "save" => {
            let outcome = async {
                let body = form.body(target.overrides())?;
                match &target {
                    Target::New => oncall::create_schedule(state, p, body).await,
                    Target::Edit(s) => {
                        oncall::update_schedule(state, p, s.id.to_string(), body, firebreak_store::Overrides::Keep)
                            .await
                    }
                }
            }
            .await;
            let outcome = unless_missing(outcome, "There is no such schedule.")?;
            answer_at(outcome, async |s| Ok(see(&format!("/schedules/{}", s.id))), async |e| again(form, e).await).await
        }
        "preview" => {
            let retyped = form.clone();
            let outcome = async { oncall::preview_schedule(state, p, form.body(target.overrides())?).await }.await;
            let done = async |preview: oncall::SchedulePreview| {
                let view = PreviewView {
                    days: oncall::DEFAULT_SHIFT_DAYS,
                    time_zone: preview.schedule.definition().time_zone.clone(),
                    shifts: shift_rows(&preview.schedule, preview.shifts),
                };
                let page = page(state, p, &target, form).await?;
                let status = "Preview only: nothing is saved yet.".into();
                Ok(render(&ScheduleFormPage { preview: Some(view), status, focus: "preview".into(), ..page }))
            };
            answer_at(outcome, done, async |e| again(retyped, e).await).await
        }
        _ => {
            let (status, focus) = form.change(&verb, &at, &today(state));
            let page = page(state, p, &target, form).await?;
            Ok(render(&ScheduleFormPage { status, focus, ..page }))
        }
    }
}
