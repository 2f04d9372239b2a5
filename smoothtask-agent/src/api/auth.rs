//! Bearer-token access. Served on a non-loopback address, every route but `/healthz` and
//! `/readyz` needs `Authorization: Bearer <token>`; a write (any method but GET/HEAD, i.e.
//! `POST /api/policy/mode`) needs it on every address. Without it: 401 JSON.

use std::{fmt, path::Path};

use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{Ctx, error::ApiError};

/// The environment variable `smoothtaskd` reads the token from, by convention.
pub const TOKEN_ENV: &str = "SMOOTHTASK_API_TOKEN";

/// Routes answered without a token on any address.
pub const OPEN_ROUTES: [&str; 2] = ["/healthz", "/readyz"];

/// A bearer token: printable ASCII without spaces, at least 16 bytes. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the API token is shorter than {min} bytes")]
    TooShort { min: usize },
    #[error("the API token may only hold printable ASCII without spaces")]
    BadCharacters,
    #[error("cannot read the API token file {path}: {source}")]
    File {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl ApiToken {
    pub const MIN_LEN: usize = 16;

    pub fn new(token: impl Into<String>) -> Result<Self, TokenError> {
        let token = token.into();
        if token.len() < Self::MIN_LEN {
            return Err(TokenError::TooShort { min: Self::MIN_LEN });
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::BadCharacters);
        }
        Ok(Self(token))
    }

    /// The token in a file (surrounding whitespace, such as a final newline, ignored).
    pub fn from_file(path: &Path) -> Result<Self, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::File {
            path: path.to_path_buf(),
            source,
        })?;
        Self::new(text.trim())
    }

    /// Compares in time independent of where the bytes differ.
    fn matches(&self, offered: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), offered.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

/// Whether a request to `path` with `method` needs the token.
pub fn needs_token(require_token: bool, method: &Method, path: &str) -> bool {
    let write = !(method == Method::GET || method == Method::HEAD);
    if write {
        return true;
    }
    require_token && !OPEN_ROUTES.contains(&path)
}

fn check(token: Option<&ApiToken>, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = token else {
        return Err(ApiError::unauthorized(
            "no API token is configured, so this request cannot be authorized",
        ));
    };
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    match offered {
        None => Err(ApiError::unauthorized(
            "this request needs an `Authorization: Bearer <token>` header",
        )),
        Some(offered) if token.matches(offered) => Ok(()),
        Some(_) => Err(ApiError::unauthorized("the bearer token is not valid")),
    }
}

/// The middleware.
pub(crate) async fn authorize(State(ctx): State<Ctx>, request: Request, next: Next) -> Response {
    if needs_token(ctx.require_token, request.method(), request.uri().path())
        && let Err(err) = check(ctx.state.token(), request.headers())
    {
        return err.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_and_hidden() {
        assert!(ApiToken::new("short").is_err());
        assert!(ApiToken::new("has a space in it!!").is_err());
        let token = ApiToken::new("0123456789abcdef").unwrap();
        assert_eq!(format!("{token:?}"), "ApiToken(<redacted>)");
        assert!(token.matches("0123456789abcdef"));
        assert!(!token.matches("0123456789abcdeF"));
        assert!(!token.matches("0123456789abcde"));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            "bearer 0123456789abcdef".parse().unwrap(),
        );
        assert!(check(Some(&token), &headers).is_ok());
        assert!(check(None, &headers).is_err());
    }

    #[test]
    fn writes_always_need_the_token_reads_only_off_loopback() {
        assert!(needs_token(false, &Method::POST, "/api/policy/mode"));
        assert!(!needs_token(false, &Method::GET, "/api/status"));
        assert!(needs_token(true, &Method::GET, "/api/status"));
        assert!(!needs_token(true, &Method::GET, "/healthz"));
        assert!(!needs_token(true, &Method::GET, "/readyz"));
    }
}
