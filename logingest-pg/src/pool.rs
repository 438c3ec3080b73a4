//! A tiny blocking connection pool for the `postgres` crate.
//!
//! Why not r2d2: the backend needs only "borrow a connection, give it back
//! unless it broke, never open more than N". That is forty lines over a
//! mutex and a condition variable (parking_lot, already a dependency), with
//! no extra crate, no background reaper thread and no health-check queries on
//! the hot path: a connection that died is noticed by `is_closed()` when it
//! comes back and simply not reused.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use logingest_core::{Error, Result};
use parking_lot::{Condvar, Mutex};
use postgres::{Client, NoTls};

use crate::error;

/// How long a caller waits for a free connection before giving up.
const WAIT: Duration = Duration::from_secs(60);

/// Up to `size` connections to one database.
pub(crate) struct Pool {
    config: postgres::Config,
    size: usize,
    /// `idle_in_transaction_session_timeout` of every session.
    idle_tx_timeout: Duration,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    idle: Vec<Client>,
    /// Connections in existence (idle or lent out).
    open: usize,
}

impl Pool {
    /// A pool for `url` (nothing is connected yet).
    pub(crate) fn new(url: &str, size: usize, idle_tx_timeout: Duration) -> Result<Self> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| Error::InvalidRequest(format!("bad PostgreSQL connection string: {e}")))?;
        // Sessions show up as `logingest` in `pg_stat_activity`, unless the
        // connection string names them otherwise.
        if config.get_application_name().is_none() {
            config.application_name("logingest");
        }
        Ok(Pool {
            config,
            size,
            idle_tx_timeout,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        })
    }

    /// Borrows a connection, opening one if fewer than `size` exist, else
    /// waiting for one to come back.
    pub(crate) fn get(&self) -> Result<Conn<'_>> {
        let mut state = self.state.lock();
        loop {
            if let Some(client) = state.idle.pop() {
                return Ok(Conn {
                    pool: self,
                    client: Some(client),
                });
            }
            if state.open < self.size {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(client) => Ok(Conn {
                        pool: self,
                        client: Some(client),
                    }),
                    Err(e) => {
                        self.state.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            if self.freed.wait_for(&mut state, WAIT).timed_out() {
                return Err(Error::Timeout("a free PostgreSQL connection"));
            }
        }
    }

    fn connect(&self) -> Result<Client> {
        let mut client = self.config.connect(NoTls).map_err(error::pg)?;
        // Durability must not depend on the server's or role's defaults:
        // `Ok` from a write means the commit reached the WAL on disk.
        //
        // A delivery holds its outbox rows locked while the search cluster
        // answers; if this host vanishes without closing its sockets, the
        // server ends the session after the idle timeout, releasing the rows
        // for another node (instead of after TCP keepalive, hours later).
        client
            .batch_execute(&format!(
                "SET synchronous_commit = on; SET idle_in_transaction_session_timeout = {}",
                self.idle_tx_timeout.as_millis().max(1)
            ))
            .map_err(error::pg)?;
        Ok(client)
    }
}

/// A borrowed connection; goes back to the pool on drop unless it is closed.
pub(crate) struct Conn<'a> {
    pool: &'a Pool,
    client: Option<Client>,
}

impl Conn<'_> {
    /// Closes the connection instead of returning it (its session state is
    /// unknown, e.g. after a failure while holding a session-level lock).
    pub(crate) fn discard(mut self) {
        self.client = None;
        self.pool.state.lock().open -= 1;
        self.pool.freed.notify_one();
    }
}

impl Deref for Conn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("connection present until drop")
    }
}

impl DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("connection present until drop")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let mut state = self.pool.state.lock();
        if client.is_closed() {
            state.open -= 1;
        } else {
            state.idle.push(client);
        }
        drop(state);
        self.pool.freed.notify_one();
    }
}
