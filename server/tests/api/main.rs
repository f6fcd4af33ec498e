//! The integration suite: the real server on port 0, a fresh database per test, real HTTP
//! and WebSocket clients. Tests marked by `on_both_databases!` run on SQLite and PostgreSQL.

mod accounts;
mod backup;
mod edge;
mod escalation;
mod helpers;
mod idempotency;
mod kitchens;
mod notifications;
mod operability;
mod pass;
mod presence;
mod push;
mod push_service;
mod rest;
mod scale_out;
mod webhook_receiver;
mod webhooks;
