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
mod language;
mod notifications;
mod object_lock;
mod operations;
mod overview;
mod restore;
mod run_language;
mod sessions;
mod settings;
mod settings_model;
mod slow_clients;
mod sources;
mod storage_options;
mod verify;
