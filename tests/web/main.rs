//! The web interface, driven over HTTP the way a browser does.

#[path = "../common/mod.rs"]
mod common;

mod api;
mod auth;
mod backups;
mod channels;
mod connection;
mod email_account;
mod encryption;
mod error_pages;
mod frappe;
mod history;
mod language;
mod live_progress;
mod mail_setup;
mod notifications;
mod object_lock;
mod operations;
mod overview;
mod restore;
mod run_language;
mod run_page;
mod sessions;
mod settings;
mod settings_model;
mod slow_clients;
mod source_checks;
mod sources;
mod storage_options;
mod verify;
