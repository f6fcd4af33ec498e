//! The browser's calls to the REST API (gloo-net). Used from event handlers and effects,
//! which run only in the browser after hydration.

use crate::wire::{ErrorBody, LoginRequest, LoginResponse};
use gloo_net::http::{Request, Response};

/// Signs in; on success the server has set the session cookie.
pub async fn login(credentials: &LoginRequest) -> Result<LoginResponse, String> {
    let response = Request::post("/api/v1/auth/login")
        .json(credentials)
        .map_err(|error| error.to_string())?
        .send()
        .await
        .map_err(|_| "The server cannot be reached.".to_string())?;
    read_json(response).await
}

/// Parses a success body, or turns an error body into its human message.
async fn read_json<T: serde::de::DeserializeOwned>(response: Response) -> Result<T, String> {
    if response.ok() {
        return response.json::<T>().await.map_err(|error| error.to_string());
    }
    match response.json::<ErrorBody>().await {
        Ok(body) => Err(body.message),
        Err(_) => Err(format!("The server answered {}.", response.status())),
    }
}

/// Full page navigation, so the next page is rendered by the server with the new cookie.
pub fn go_to(path: &str) {
    if let Some(window) = web_sys::window() {
        // A failed navigation leaves the user on the current page, which is the best fallback.
        let _ = window.location().set_href(path);
    }
}
