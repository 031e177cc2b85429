//! End-to-end tests: each builds a records tree in a temporary directory, runs the real
//! binary on it, and checks stdout, stderr, the exit code and the files left behind.
//! One test binary with a module per command area keeps link time down.

mod caches;
mod check;
mod check_cache;
mod comm;
mod concurrency;
mod corpus;
mod crash;
mod dated_ids;
mod day_caches;
mod demo;
mod docs;
mod faults;
mod general;
mod git_status;
mod gitindex;
mod harness;
mod html;
mod import;
mod index;
mod ledger_cache;
mod letter;
mod messages;
mod output;
mod parallel;
mod patient;
mod patient_list;
mod pay;
mod perms;
mod phi;
mod pipes;
mod report;
mod report_footer;
mod resource;
mod rooms;
mod roundtrip;
mod schedule;
mod setup;
mod statement_run;
mod survey;
mod sync;
