//! Who is calling (bearer tokens) and the accounts API.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, State as Shared};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};

use crate::State;
use crate::problem::Problem;

/// The account behind the request's bearer token.
#[derive(Debug)]
pub struct Caller(pub tocsin_store::Account);

impl Caller {
    /// Refuses (403) unless the caller holds one of `allowed`.
    pub fn require(&self, allowed: &'static [&'static str]) -> Result<(), Problem> {
        if self.0.roles.iter().any(|r| allowed.contains(&r.as_str())) { Ok(()) } else { Err(Problem::Forbidden(allowed)) }
    }
}

impl FromRequestParts<Arc<State>> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<State>) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(Problem::Unauthenticated)?;
        let account = state.store.authenticate(token.trim()).await?.ok_or(Problem::Unauthenticated)?;
        Ok(Caller(account))
    }
}

/// An account as the API shows it.
#[derive(Debug, Serialize)]
pub struct AccountView {
    name: String,
    roles: Vec<String>,
    disabled: bool,
}

impl From<tocsin_store::Account> for AccountView {
    fn from(a: tocsin_store::Account) -> Self {
        Self { name: a.name, roles: a.roles, disabled: a.disabled }
    }
}

/// `POST /v1/accounts` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    name: String,
    roles: Vec<String>,
}

const ADMIN: &[&str] = &["admin"];

/// `GET /v1/accounts` (admin).
pub async fn list(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<Vec<AccountView>>, Problem> {
    caller.require(ADMIN)?;
    Ok(Json(state.store.accounts().await?.into_iter().map(AccountView::from).collect()))
}

/// `POST /v1/accounts` (admin): 201 with the account.
pub async fn create(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    body: Result<Json<NewAccount>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<AccountView>), Problem> {
    caller.require(ADMIN)?;
    let Json(new) = body.map_err(|e| Problem::BadBody(e.status(), e.body_text()))?;
    let roles: Vec<&str> = new.roles.iter().map(String::as_str).collect();
    let account = state.store.create_account(&new.name, &roles).await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

/// `POST /v1/accounts/{name}/disable` (admin): 204.
pub async fn disable(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Result<StatusCode, Problem> {
    caller.require(ADMIN)?;
    state.store.disable_account(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/accounts/{name}/tokens` body: how long the token lives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    days: u16,
}

/// A token just made, shown this once.
#[derive(Debug, Serialize)]
pub struct TokenView {
    token: String,
    expires_at: i64,
}

/// `POST /v1/accounts/{name}/tokens` (admin): 201 with the token, shown this once.
pub async fn create_token(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    axum::extract::Path(name): axum::extract::Path<String>,
    body: Result<Json<NewTokenRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<TokenView>), Problem> {
    caller.require(ADMIN)?;
    let Json(request) = body.map_err(|e| Problem::BadBody(e.status(), e.body_text()))?;
    if !(1..=3650).contains(&request.days) {
        return Err(Problem::Refused("days: 1 to 3650".to_owned()));
    }
    let token = state.store.create_token(&name, i64::from(request.days) * 86_400).await?;
    Ok((StatusCode::CREATED, Json(TokenView { token: token.secret, expires_at: token.expires_at })))
}

/// `POST /v1/tokens/revoke` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    token: String,
}

/// `POST /v1/tokens/revoke` (admin, or any caller for a token of its own account): 204.
pub async fn revoke(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    body: Result<Json<RevokeRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<StatusCode, Problem> {
    let Json(request) = body.map_err(|e| Problem::BadBody(e.status(), e.body_text()))?;
    let owner = state.store.authenticate(&request.token).await?;
    let own = owner.as_ref().is_some_and(|o| o.name == caller.0.name);
    if !own {
        caller.require(ADMIN)?;
    }
    state.store.revoke_token(&request.token).await?;
    Ok(StatusCode::NO_CONTENT)
}
