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
