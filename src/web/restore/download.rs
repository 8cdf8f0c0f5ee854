//! A backup's objects downloaded from its page: as stored, or decrypted and decompressed,
//! checked as they stream; an encrypted object with the app's key or a pasted identity.

use axum::Form as PostedForm;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use tokio_util::io::ReaderStream;

use super::commands::{object_name, plain_name};
use super::identity::{IdentityForm, app_identity, decryptable, pasted_identity};
use super::{RestoreForm, folder_name, load_manifest, refuse};
use crate::app::AppState;
use crate::backup::S3Target;
use crate::backup::download::{self, Form};
use crate::backup::manifest::{Manifest, StoredObject};
use crate::lang::Message;
use crate::settings::Identity;
use crate::web::error::WebError;
use crate::web::page::Page;

#[derive(Deserialize)]
pub(super) struct DownloadQuery {
    /// `plain` for the decompressed file; the stored `.zst` otherwise.
    #[serde(default)]
    form: Option<String>,
}

pub(super) async fn download(
    State(state): State<AppState>,
    page: Page,
    Path((folder, name)): Path<(String, String)>,
    Query(query): Query<DownloadQuery>,
) -> Result<Response, WebError> {
    let folder = folder_name(&folder)?;
    let (target, manifest) = load_manifest(&state, folder).await?;
    let object = find_object(&manifest, &name)?;
    let form = match query.form.as_deref() {
        Some("plain") => Form::Plain,
        _ => Form::Stored,
    };
    let identities: Vec<Identity> = app_identity(&state).await?.into_iter().collect();
    stream_object(&state, page, &target, folder, &object, form, &identities).await
}

/// An encrypted object decrypted with a pasted identity; a bad or wrong one brings the
/// backup's page back saying why.
pub(super) async fn download_decrypted(
    State(state): State<AppState>,
    page: Page,
    Path((folder, name)): Path<(String, String)>,
    PostedForm(form): PostedForm<IdentityForm>,
) -> Result<Response, WebError> {
    let folder = folder_name(&folder)?.to_owned();
    let (target, manifest) = load_manifest(&state, &folder).await?;
    let object = find_object(&manifest, &name)?;
    let mut identities: Vec<Identity> = app_identity(&state).await?.into_iter().collect();
    let checked = pasted_identity(&form.identity, page.lang).and_then(|pasted| {
        let given = pasted.is_some();
        identities.extend(pasted);
        decryptable([&object], &identities, given, page.lang)
    });
    if let Err(message) = checked {
        let form = RestoreForm::of(&object);
        return refuse(&state, page, &folder, form, message).await;
    }
    stream_object(
        &state,
        page,
        &target,
        &folder,
        &object,
        Form::Plain,
        &identities,
    )
    .await
}

pub(super) fn find_object(manifest: &Manifest, name: &str) -> Result<StoredObject, WebError> {
    manifest
        .objects
        .iter()
        .find(|object| object_name(object) == name)
        .cloned()
        .ok_or(WebError::NotFound)
}

/// `object` as a download in `form`, checked as it streams; an object that cannot be
/// decrypted with `identities` brings the backup's page back saying why.
pub(super) async fn stream_object(
    state: &AppState,
    page: Page,
    target: &S3Target,
    folder: &str,
    object: &StoredObject,
    form: Form,
    identities: &[Identity],
) -> Result<Response, WebError> {
    // A site's objects are handed over as bench takes them: decrypted, still compressed.
    let form = match form {
        Form::Plain if object.site.is_some() => Form::Decrypted,
        form => form,
    };
    let client = crate::backup::s3::client(target);
    let reader = match download::open_counted(&client, target, object, form, None, identities).await
    {
        Ok(reader) => reader,
        Err(error) if error.is_not_found() => return Err(WebError::NotFound),
        Err(download::DownloadError::Decrypt(error)) => {
            let message = error.to_message().render(page.lang);
            return refuse(state, page, folder, RestoreForm::of(object), message).await;
        }
        Err(error) => return Err(WebError::internal("downloading an object", error)),
    };
    let key = object.key.clone();
    let pool = state.pool.clone();
    let folder_key = target.key(folder);
    // A failed check ends the body with an error: the chunked response is cut before its
    // final chunk, so the client never takes a corrupt file for a complete one. (No
    // Content-Length: with one, every byte could arrive before the verdict.) A backup found
    // corrupt this way is recorded as a failed verification of it.
    let body = ReaderStream::new(reader).inspect(move |chunk| {
        if let Err(error) = chunk {
            tracing::error!(key = %key, "download cut: {error}");
            if error.kind() == std::io::ErrorKind::InvalidData {
                let (pool, folder_key) = (pool.clone(), folder_key.clone());
                let error = Message::new("run.download.corrupt")
                    .with("key", &key)
                    .detail(error.to_string());
                tokio::spawn(async move {
                    if let Err(failure) =
                        crate::db::runs::record_failed_check(&pool, &folder_key, &error).await
                    {
                        tracing::error!("{failure}");
                    }
                });
            }
        }
    });
    let file_name = match form {
        Form::Plain | Form::Decrypted => plain_name(object),
        Form::Stored => object_name(object),
    };
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(value) = header::HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        quoted_header(file_name)
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// A file name safe inside a quoted header value.
pub(super) fn quoted_header(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
