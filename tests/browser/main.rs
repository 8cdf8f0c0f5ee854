//! The interface in a real browser: Debian's Chromium, headless, driven through
//! chromedriver against the app and an S3 server running in the test process.

#[path = "../common/mod.rs"]
mod common;

mod accessibility;
mod driver;
mod input_errors;
mod journey;
mod keyboard;
mod overview;
mod progress;
mod responsive;
mod schedule;
mod sources;
