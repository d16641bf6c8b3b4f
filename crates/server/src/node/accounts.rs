//! Who is calling (bearer tokens), signing in with a password, and the accounts API.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path, State as Shared};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use tocsin_store::{PasswordHash, verify_or_waste};
use utoipa::ToSchema;

use crate::State;
use crate::node::listen::PeerAddr;
use crate::node::problem::{JsonBody, Problem};

/// The account behind the request's bearer token.
#[derive(Debug)]
pub struct Caller(pub tocsin_store::Account);

impl Caller {
    /// Refuses (403) unless the caller holds one of `allowed`.
    pub fn require(&self, allowed: &'static [&'static str]) -> Result<(), Problem> {
        if self.0.roles.iter().any(|r| allowed.contains(&r.as_str())) { Ok(()) } else { Err(Problem::Forbidden(allowed)) }
    }

    /// Refuses (403) unless the caller is the account `name` or holds one of `allowed`.
    fn require_self_or(&self, name: &str, allowed: &'static [&'static str]) -> Result<(), Problem> {
        if self.0.name == name { Ok(()) } else { self.require(allowed) }
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

/// A role an account may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountRole {
    /// Manages accounts and tokens; reads the log.
    Admin,
    /// Authority staff: issues orders.
    Issuer,
    /// Platform staff: handles orders.
    Operator,
    /// Reviews referrals and matches.
    Reviewer,
    /// The independent reviewer: reads everything, records recommendations.
    Oversight,
    /// Reads the log only.
    Auditor,
    /// A judge or prosecutor at an authority: validates data requests that need it before they
    /// leave the node (e-Evidence Regulation Art. 4).
    Validator,
}

impl AccountRole {
    /// Every role, in the store's order.
    #[cfg(test)]
    const ALL: [AccountRole; 7] =
        [Self::Admin, Self::Issuer, Self::Operator, Self::Reviewer, Self::Oversight, Self::Auditor, Self::Validator];

    /// The name the store keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Issuer => "issuer",
            Self::Operator => "operator",
            Self::Reviewer => "reviewer",
            Self::Oversight => "oversight",
            Self::Auditor => "auditor",
            Self::Validator => "validator",
        }
    }
}

/// An account as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    /// Unique on the node.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$")]
    name: String,
    /// What it may do.
    #[schema(value_type = Vec<AccountRole>)]
    roles: Vec<String>,
    /// A disabled account's tokens and password no longer work.
    disabled: bool,
}

impl From<tocsin_store::Account> for AccountView {
    fn from(a: tocsin_store::Account) -> Self {
        Self { name: a.name, roles: a.roles, disabled: a.disabled }
    }
}

/// `POST /v1/accounts` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// 1 to 64 letters, digits, `-`, `_` or `.`.
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$", min_length = 1, max_length = 64)]
    name: String,
    /// At least one role.
    #[schema(min_items = 1)]
    roles: Vec<AccountRole>,
    /// For signing in (`POST /v1/login`); kept only as an Argon2id hash.
    #[schema(min_length = 12, max_length = 256)]
    password: Option<String>,
}

const ADMIN: &[&str] = &["admin"];

/// How long a token got by signing in with a password lives: one shift.
pub const SIGN_IN_LIFETIME_SECONDS: i64 = 12 * 3600;

/// At most this many password hashes are computed at once, so that a flood of sign-ins cannot
/// take every core from the rest of the node.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Runs password hashing on a blocking thread, within [`HASHING`].
pub(crate) async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, Problem> {
    let _permit = HASHING.acquire().await.map_err(|_| Problem::Internal)?;
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        Problem::Internal
    })
}

async fn hash_password(password: String) -> Result<PasswordHash, Problem> {
    Ok(off_runtime(move || PasswordHash::new(&password)).await??)
}

/// Every account, by name.
#[utoipa::path(get, path = "/v1/accounts", operation_id = "list_accounts", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, description = "Every account, by name (admin)", body = [AccountView])))]
pub async fn list(caller: Caller, Shared(state): Shared<Arc<State>>) -> Result<Json<Vec<AccountView>>, Problem> {
    caller.require(ADMIN)?;
    Ok(Json(state.store.accounts().await?.into_iter().map(AccountView::from).collect()))
}

/// Makes an account (admin).
#[utoipa::path(post, path = "/v1/accounts", operation_id = "create_account", tag = "accounts", security(("bearer" = [])), request_body = NewAccount,
    responses(
        (status = 201, description = "Made", body = AccountView),
        (status = 409, description = "The name is taken or the password too short", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn create(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    body: JsonBody<NewAccount>,
) -> Result<(StatusCode, Json<AccountView>), Problem> {
    caller.require(ADMIN)?;
    let new = body.parse()?;
    tocsin_store::check_account_name(&new.name)?;
    let password = match new.password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let roles: Vec<&str> = new.roles.iter().map(|r| r.as_str()).collect();
    let account = state.store.create_account(&new.name, &roles, password.as_ref()).await?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

/// Disables an account: its tokens and password stop working (admin). An admin cannot disable
/// its own account, so that a node is never left with no one to manage it by a slip.
#[utoipa::path(post, path = "/v1/accounts/{name}/disable", tag = "accounts", security(("bearer" = [])),
    params(("name" = String, Path, description = "The account")),
    responses(
        (status = 204, description = "Disabled"),
        (status = 409, description = "No such enabled account, or the caller's own", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn disable(caller: Caller, Shared(state): Shared<Arc<State>>, Path(name): Path<String>) -> Result<StatusCode, Problem> {
    caller.require(ADMIN)?;
    if caller.0.name == name {
        return Err(Problem::Refused("an account cannot disable itself; ask another admin".to_owned()));
    }
    state.store.disable_account(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/accounts/{name}/password` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    /// 12 to 256 characters.
    #[schema(min_length = 12, max_length = 256)]
    password: String,
}

/// Sets an account's password (admin, or the account itself).
#[utoipa::path(post, path = "/v1/accounts/{name}/password", tag = "accounts", security(("bearer" = [])), request_body = NewPassword,
    params(("name" = String, Path, description = "The account")),
    responses(
        (status = 204, description = "Set"),
        (status = 409, description = "No such account, or the password too short or too long", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn set_password(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(name): Path<String>,
    body: JsonBody<NewPassword>,
) -> Result<StatusCode, Problem> {
    caller.require_self_or(&name, ADMIN)?;
    let request = body.parse()?;
    tocsin_store::check_account_name(&name)?;
    let hash = hash_password(request.password).await?;
    state.store.set_password(&name, &hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/accounts/{name}/tokens` body: how long the token lives.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// Days, 1 to 3650.
    #[schema(minimum = 1, maximum = 3650)]
    days: u16,
}

/// A token just made, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// The bearer token; only its hash is kept.
    token: String,
    /// When it stops working, Unix seconds.
    expires_at: i64,
}

/// Makes an API token for an account, shown this once (admin).
#[utoipa::path(post, path = "/v1/accounts/{name}/tokens", tag = "accounts", security(("bearer" = [])), request_body = NewTokenRequest,
    params(("name" = String, Path, description = "The account")),
    responses(
        (status = 201, description = "Made", body = TokenView),
        (status = 409, description = "No such account, or days out of range", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn create_token(
    caller: Caller,
    Shared(state): Shared<Arc<State>>,
    Path(name): Path<String>,
    body: JsonBody<NewTokenRequest>,
) -> Result<(StatusCode, Json<TokenView>), Problem> {
    caller.require(ADMIN)?;
    let request = body.parse()?;
    if !(1..=3650).contains(&request.days) {
        return Err(Problem::Refused("days: 1 to 3650".to_owned()));
    }
    let token = state.store.create_token(&name, i64::from(request.days) * 86_400).await?;
    Ok((StatusCode::CREATED, Json(TokenView { token: token.secret, expires_at: token.expires_at })))
}

/// `POST /v1/tokens/revoke` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// The token to revoke.
    token: String,
}

/// Revokes a token (admin, or any caller for a token of its own account).
#[utoipa::path(post, path = "/v1/tokens/revoke", tag = "accounts", security(("bearer" = [])), request_body = RevokeRequest,
    responses(
        (status = 204, description = "Revoked"),
        (status = 409, description = "No such live token", body = crate::node::problem::Body, content_type = "application/problem+json"),
    ))]
pub async fn revoke(caller: Caller, Shared(state): Shared<Arc<State>>, body: JsonBody<RevokeRequest>) -> Result<StatusCode, Problem> {
    let request = body.parse()?;
    let owner = state.store.authenticate(&request.token).await?;
    match owner {
        Some(owner) => caller.require_self_or(&owner.name, ADMIN)?,
        None => caller.require(ADMIN)?,
    }
    state.store.revoke_token(&request.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/login` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The account's name.
    #[schema(max_length = 64)]
    account: String,
    /// Its password.
    #[schema(max_length = 256)]
    password: String,
}

/// Signs in with a password and gets an API token for one shift (12 hours). A wrong name and
/// a wrong password get the same answer in the same time.
#[utoipa::path(post, path = "/v1/login", tag = "accounts", request_body = SignIn,
    responses((status = 201, description = "Signed in", body = TokenView),
        (status = 429, description = "Too many failed sign-ins for this name: locked for 15 minutes", body = crate::node::problem::Body, content_type = "application/problem+json")))]
pub async fn login(
    Shared(state): Shared<Arc<State>>,
    PeerAddr(source): PeerAddr,
    body: JsonBody<SignIn>,
) -> Result<(StatusCode, Json<TokenView>), Problem> {
    let request = body.parse()?;
    let attempt = state.sign_in_attempts.begin(&request.account, source.map(|a| a.ip())).map_err(|_| Problem::Locked)?;
    let found = state.store.sign_in_lookup(&request.account).await?;
    let stored = found.as_ref().and_then(|(_, hash)| hash.clone());
    // Overlong input is not hashed at all (it can never have been set).
    let password = request.password;
    let ok = password.chars().count() <= tocsin_store::MAX_PASSWORD_CHARS
        && off_runtime(move || verify_or_waste(stored.as_ref(), &password)).await?;
    let Some((account, _)) = found.filter(|_| ok) else {
        tracing::info!("sign-in refused");
        attempt.failed();
        return Err(Problem::BadCredentials);
    };
    attempt.succeeded();
    let token = state.store.create_token(&account.name, SIGN_IN_LIFETIME_SECONDS).await?;
    Ok((StatusCode::CREATED, Json(TokenView { token: token.secret, expires_at: token.expires_at })))
}

#[cfg(test)]
mod tests {
    use super::AccountRole;

    #[test]
    fn the_api_roles_are_the_stores_roles() {
        let names: Vec<&str> = AccountRole::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names, tocsin_store::ROLES);
        for role in AccountRole::ALL {
            let json = serde_json::to_string(&role).expect("serialises");
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
    }
}
