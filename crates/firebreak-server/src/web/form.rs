//! What every form of the web UI shares: reading a submitted form (signed in, with the session's
//! CSRF token), and answering it — on to the next page when the operation worked, or the same
//! page again with the error and the values that were typed.

use super::{WebError, WebPrincipal, WebResult};
use crate::AppState;
use crate::auth::{self, Principal};
use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, RawForm, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// `axum::Form`, with bad bodies shown as an error page. For the forms read before anyone is
/// signed in (sign-in); every other form is a [`Submitted`].
pub struct WebForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for WebForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|f| WebForm(f.0))
            .map_err(|r| WebError::new(r.status(), format!("The form could not be read: {}", r.body_text())))
    }
}

/// A form posted by the signed-in user: signed-out visitors are sent to sign in, a form whose
/// `csrf` field does not match the session's token is refused (403) before anything in it is
/// read, and a body that does not fit `T` is an error page (422).
pub struct Submitted<T>(pub Principal, pub T);

/// The token every form carries; the other fields are `T`'s.
#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form with nothing but its CSRF token (plain buttons).
#[derive(Deserialize)]
pub struct CsrfOnly {}

impl<T: DeserializeOwned> FromRequest<AppState> for Submitted<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let WebPrincipal(p) = WebPrincipal::from_request_parts(&mut parts, state).await?;
        let RawForm(bytes) = RawForm::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|r| WebError::new(r.status(), format!("The form could not be read: {}", r.body_text())))?;
        let token = serde_urlencoded::from_bytes::<CsrfField>(&bytes).map(|f| f.csrf).unwrap_or_default();
        let ok = match &p.credential {
            auth::Credential::Session { csrf, .. } => auth::tokens_match(csrf, &token),
            auth::Credential::Token(_) => false,
        };
        if !ok {
            return Err(WebError::new(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from Firebreak. Go back, reload the page and try again.",
            ));
        }
        let form = serde_urlencoded::from_bytes::<T>(&bytes)
            .map_err(|e| WebError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("The form could not be read: {e}")))?;
        Ok(Submitted(p, form))
    }
}

/// A client error is shown on the form's own page, with what was typed; anything else
/// becomes an error page.
pub fn form_error(e: ApiError) -> Result<ApiError, WebError> {
    if e.status.is_client_error() { Ok(e) } else { Err(e.into()) }
}

/// A "not found" from a form's operation is an error page saying `message` (the thing the
/// form is about is gone), not an error to show on the form.
pub fn unless_missing<T>(outcome: Result<T, ApiError>, message: &str) -> WebResult<Result<T, ApiError>> {
    match outcome {
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(WebError::new(StatusCode::NOT_FOUND, message)),
        other => Ok(other),
    }
}

/// The browser goes on to `to` (303 See Other, so a reload does not post again).
pub fn see(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Answers a submitted form from what its operation came to: `done` makes the answer of a
/// success (usually to [`see`] the next page); a client error shows the page `again` renders
/// with the error's message (it fills in what was typed), under the error's status; any other
/// error is an error page.
pub async fn answer<T, R: IntoResponse>(
    outcome: Result<T, ApiError>,
    done: impl AsyncFnOnce(T) -> WebResult<Response>,
    again: impl AsyncFnOnce(String) -> WebResult<R>,
) -> WebResult<Response> {
    answer_at(outcome, done, async move |e: ApiError| again(e.message).await).await
}

/// [`answer`], for forms that show an error at the field it concerns: `again` gets the whole
/// error (its `field` says where; see [`Problem`]).
pub async fn answer_at<T, R: IntoResponse>(
    outcome: Result<T, ApiError>,
    done: impl AsyncFnOnce(T) -> WebResult<Response>,
    again: impl AsyncFnOnce(ApiError) -> WebResult<R>,
) -> WebResult<Response> {
    match outcome {
        Ok(v) => done(v).await,
        Err(e) => {
            let e = form_error(e)?;
            let status = e.status;
            Ok((status, again(e).await?).into_response())
        }
    }
}

/// An error as a form shows it: a summary at the top (`role="alert"`, linking to the field),
/// and the same message next to the field it concerns, which names it with
/// `aria-describedby` (the macros of `templates/forms.html`). Empty when there is none.
#[derive(Debug, Clone, Default)]
pub struct Problem {
    /// The id of the field's element, or empty when the error concerns no one field.
    pub field: String,
    /// What the summary calls the field (`Layer 2 members`).
    pub label: String,
    pub message: String,
}

impl Problem {
    /// The problem of `e` on a form whose fields `place` finds: from the error's `field` (a
    /// name, or a path such as `layers[1].members`) to the element's id and label.
    pub fn of(e: &ApiError, place: impl Fn(&str) -> Option<(String, String)>) -> Problem {
        let Some(path) = &e.field else { return Problem { message: e.message.clone(), ..Default::default() } };
        // The message names the place first (`layers: …`, `layers[1].members: …`); the form
        // shows the place its own way.
        let root = path.split(['[', '.']).next().unwrap_or_default();
        let message = [path.as_str(), root]
            .iter()
            .find_map(|p| e.message.strip_prefix(&format!("{p}: ")))
            .unwrap_or(&e.message)
            .to_owned();
        match place(path) {
            Some((field, label)) => Problem { field, label, message },
            None => Problem { message: e.message.clone(), ..Default::default() },
        }
    }

    /// A problem at the field `field` (an element id), called `label`.
    pub fn at(field: impl Into<String>, label: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem { field: field.into(), label: label.into(), message: message.into() }
    }

    pub fn is_some(&self) -> bool {
        !self.message.is_empty()
    }

    /// Whether the problem is at the element `id`.
    pub fn is_at(&self, id: &str) -> bool {
        !self.field.is_empty() && self.field == id
    }
}

/// A form's fields in the order they were posted, for forms with lists in them: repeated names
/// (`layer1.member`, in order) and numbered groups (`layer1.name`, `layer2.name`).
#[derive(Deserialize, Default)]
#[serde(transparent)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, or empty.
    pub fn one(&self, name: &str) -> String {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    /// Whether any field is called `name`.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// The numbers of the groups `{prefix}N.…` posted, in order, each once (`layer` gives 1,
    /// 2, … for `layer1.name`, `layer2.name`); at most `max` of them.
    pub fn groups(&self, prefix: &str, max: usize) -> Vec<usize> {
        let mut numbers: Vec<usize> =
            self.0.iter().filter_map(|(k, _)| k.strip_prefix(prefix)?.split_once('.')?.0.parse().ok()).collect();
        numbers.sort_unstable();
        numbers.dedup();
        numbers.truncate(max);
        numbers
    }

    /// The button that posted the form: its `action` value, as words and numbers (`remove-layer:2`
    /// is `("remove-layer", [2])`). A form posted without one (Enter in a field) previews.
    pub fn action(&self) -> (String, Vec<usize>) {
        let raw = self.one("action");
        let mut parts = raw.split(':');
        let verb = parts.next().filter(|v| !v.is_empty()).unwrap_or("preview").to_owned();
        (verb, parts.filter_map(|n| n.parse().ok()).collect())
    }
}

/// One row of an ordered choice (a layer's members, a level's targets): the chosen value, empty
/// for a blank row.
pub struct PickRow {
    pub value: String,
    /// The label of a value none of the choices has (an unknown id that was posted, a deleted
    /// user), so that what was chosen is shown again; empty when it is one of them.
    pub stray: String,
}

/// Choices of a select, under an `optgroup` when `label` is not empty.
pub struct ChoiceGroup {
    pub label: String,
    pub options: Vec<super::catalog::SelectOption>,
}

/// The rows of an ordered choice: one per chosen value, in order, then `blank` blank rows.
pub fn pick_rows(chosen: &[String], groups: &[ChoiceGroup], blank: usize) -> Vec<PickRow> {
    let known = |v: &str| groups.iter().any(|g| g.options.iter().any(|o| o.value == v));
    let rows = chosen.iter().map(|v| PickRow {
        stray: if known(v) { String::new() } else { format!("unknown ({})", super::catalog::clip(v, 40)) },
        value: v.clone(),
    });
    rows.chain((0..blank).map(|_| PickRow { value: String::new(), stray: String::new() })).collect()
}

/// Blank rows an ordered choice shows at most.
pub const MAX_BLANK_ROWS: usize = 20;

/// How many blank rows of an ordered choice to show again: as many as were posted (one at
/// least), and `more` for its "add a row" button.
pub fn blank_rows(posted: usize, more: usize) -> usize {
    (posted + more).clamp(1, MAX_BLANK_ROWS)
}

/// People as choices of a select, with `value` for each: everyone enabled, and a disabled
/// person only where `chosen` already (labelled so).
pub fn people_choices(
    people: &[firebreak_store::User],
    value: impl Fn(&firebreak_domain::UserId) -> String,
    chosen: impl Fn(&str) -> bool,
) -> Vec<super::catalog::SelectOption> {
    let mut people: Vec<&firebreak_store::User> = people.iter().collect();
    people.sort_by_key(|u| u.name.to_lowercase());
    people
        .into_iter()
        .map(|u| (u, value(&u.id)))
        .filter(|(u, value)| !u.disabled || chosen(value))
        .map(|(u, value)| super::catalog::SelectOption {
            label: if u.disabled { format!("{} (disabled)", u.name) } else { u.name.clone() },
            value,
            selected: false,
        })
        .collect()
}

/// What a form that creates or edits one thing says of itself: its heading, where it posts
/// (its own address), the saved thing's id and name for the link back (empty for a new one),
/// and its save button.
pub struct FormHead {
    pub title: String,
    pub action: String,
    pub id: String,
    pub saved_name: String,
    pub save_label: &'static str,
}

impl FormHead {
    /// The form at `action` that creates a new thing.
    pub fn new(title: &str, action: &str, save_label: &'static str) -> Self {
        FormHead {
            title: title.into(),
            action: action.into(),
            id: String::new(),
            saved_name: String::new(),
            save_label,
        }
    }

    /// The form at `action` that edits the thing `id` saved as `name`.
    pub fn edit(name: &str, id: String, action: String) -> Self {
        FormHead { title: format!("Edit {name}"), action, id, saved_name: name.into(), save_label: "Save changes" }
    }
}

/// Moves entry `n` (from 1) of `list` one place up; nothing when it is the first or not there.
pub fn move_up<T>(list: &mut [T], n: usize) {
    if n >= 2 && n <= list.len() {
        list.swap(n - 2, n - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::{Fields, Problem, move_up};
    use crate::error::ApiError;

    fn fields(body: &str) -> Fields {
        serde_urlencoded::from_str(body).unwrap_or_default()
    }

    #[test]
    fn lists_are_read_in_order_and_groups_by_number() {
        let f = fields(
            "layer10.name=j&layer2.name=b&layer2.member=x&layer2.member=&layer2.member=y&layer2.window1.kind=daily",
        );
        assert_eq!(f.groups("layer", 20), [2, 10]);
        assert_eq!(f.groups("layer", 1), [2], "at most `max` groups");
        assert_eq!(f.groups("layer2.window", 20), [1]);
        assert_eq!(f.all("layer2.member"), ["x", "", "y"]);
        assert_eq!(f.one("layer10.name"), "j");
        assert_eq!(f.one("missing"), "");
        assert!(fields("layerX.name=a&layer.name=b").groups("layer", 20).is_empty(), "no number, no group");
    }

    #[test]
    fn the_pressed_button_says_what_to_do() {
        assert_eq!(fields("action=member-up:2:3").action(), ("member-up".to_owned(), vec![2, 3]));
        assert_eq!(fields("action=save").action(), ("save".to_owned(), vec![]));
        assert_eq!(fields("name=x").action(), ("preview".to_owned(), vec![]), "Enter in a field previews");
        assert_eq!(fields("action=remove-layer:x").action(), ("remove-layer".to_owned(), vec![]));
    }

    #[test]
    fn an_error_is_shown_at_its_field_without_the_place_in_front() {
        let place =
            |path: &str| (path == "layers[1].members").then(|| ("f-2".to_owned(), "Layer 2 members".to_owned()));
        let domain = ApiError::from(firebreak_domain::DomainError::invalid("layers", "needs members"));
        let located = Problem::of(&domain.clone().at("layers[1].members"), place);
        assert_eq!((located.field.as_str(), located.message.as_str()), ("f-2", "needs members"));
        assert!(located.is_at("f-2") && !located.is_at("f-1") && located.is_some());
        let typed = Problem::of(&ApiError::invalid_at("layers[1].members", "choose"), place);
        assert_eq!(typed.message, "choose");
        let elsewhere = Problem::of(&domain, place);
        assert_eq!(
            (elsewhere.field.as_str(), elsewhere.message.as_str()),
            ("", "layers: needs members"),
            "summary only"
        );
        assert!(!Problem::default().is_some());
    }

    #[test]
    fn moving_up_swaps_with_the_one_before() {
        let mut list = vec!['a', 'b', 'c'];
        move_up(&mut list, 3);
        assert_eq!(list, ['a', 'c', 'b']);
        move_up(&mut list, 1);
        move_up(&mut list, 4);
        move_up(&mut list, 0);
        assert_eq!(list, ['a', 'c', 'b'], "the first and ones not there stay");
    }
}
