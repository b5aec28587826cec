//! Background jobs: long-running loops the app's supervisor starts at start-up and stops at
//! shutdown (each takes a stop signal). Retention and the disk watcher today; alert evaluation
//! and rollup upkeep belong here too.

pub mod disk;
pub mod retention;
