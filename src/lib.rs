//! s3-backup: offsite backups of databases and file directories to any S3-compatible store,
//! configured in a browser, run by an embedded scheduler, with e-mail and a history.

rust_i18n::i18n!("locales", fallback = "en");

pub mod accounts;
pub mod app;
pub mod backup;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod data_dir;
pub mod db;
pub mod format;
pub mod jobs;
pub mod lang;
pub mod notify;
pub mod schedule;
pub mod settings;
pub mod tokens;
pub mod web;
