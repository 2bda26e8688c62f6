//! Read-your-writes across replicas: what a [`Database`](crate::Database)
//! handle remembers of its own writes (when, and the primary's position
//! after them), and the [`CausalToken`] that carries that position to
//! another handle or process.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;

use super::replicas::ReadYourWrites;
use crate::connection::replication::Position;
use crate::error::{Error, Result};

/// URL-safe base64 without padding (RFC 4648, section 5).
const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The primary's replication position after some writes, per connection:
/// a read that carries it goes only to a replica that has replayed past it
/// (or to the primary, also when that replica fails), so it sees those
/// writes.
///
/// Opaque, small and URL-safe text (base64url): send it in an HTTP header
/// or a job's payload, and give it back with
/// [`Database::with_causal_token`](crate::Database::with_causal_token).
/// It is (de)serialized with serde as that text, at most 4096 bytes.
/// Positions are PostgreSQL WAL locations (`pg_current_wal_insert_lsn()`) or
/// MariaDB/MySQL GTIDs. A token is not signed and does not expire: one
/// naming a position far ahead makes reads wait the causal wait and then go
/// to the primary, so sign it (or keep it server-side) if clients could
/// forge it.
///
/// ```
/// let token: orm::CausalToken = "W1siZGIiLCJwZzowLzE2QjM3NDgiXV0".parse()?;
/// assert_eq!(token.to_string(), "W1siZGIiLCJwZzowLzE2QjM3NDgiXV0");
/// assert!(matches!("not a token".parse::<orm::CausalToken>(), Err(orm::Error::InvalidCausalToken { .. })));
/// # Ok::<(), orm::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CausalToken {
    positions: Vec<(String, Position)>,
}

impl CausalToken {
    /// Whether the token holds no position: no write through the handle on
    /// a connection with replicas in
    /// [`ReadYourWrites::CausalToken`](crate::ReadYourWrites::CausalToken)
    /// mode (other modes record none). Its text is still not blank
    /// (`W10`); leave the header out when this is true.
    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// The names of the connections it holds a position for.
    pub fn connections(&self) -> impl Iterator<Item = &str> {
        self.positions.iter().map(|(c, _)| c.as_str())
    }

    pub(crate) fn positions(&self) -> &[(String, Position)] {
        &self.positions
    }
}

impl fmt::Display for CausalToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<[String; 2]> = self
            .positions
            .iter()
            .map(|(c, p)| [c.clone(), p.to_string()])
            .collect();
        let json = serde_json::to_vec(&pairs).map_err(|_| fmt::Error)?;
        f.write_str(&BASE64.encode(json))
    }
}

impl FromStr for CausalToken {
    type Err = Error;

    /// Reads the text [`Display`](fmt::Display) wrote;
    /// [`Error::InvalidCausalToken`] for anything else.
    fn from_str(text: &str) -> Result<CausalToken> {
        let invalid = |reason: &str| Error::InvalidCausalToken {
            reason: reason.to_owned(),
        };
        if text.len() > 4096 {
            return Err(invalid("longer than 4096 bytes"));
        }
        let json = BASE64
            .decode(text.trim())
            .map_err(|_| invalid("not base64url text written by this crate"))?;
        let pairs: Vec<(String, String)> = serde_json::from_slice(&json)
            .map_err(|_| invalid("not a token written by this crate"))?;
        let mut positions = Vec::with_capacity(pairs.len());
        for (connection, position) in pairs {
            let position = Position::parse(&position).ok_or_else(|| {
                invalid(&format!(
                    "the position for connection `{connection}` is not one this crate wrote"
                ))
            })?;
            positions.push((connection, position));
        }
        Ok(CausalToken { positions })
    }
}

impl serde::Serialize for CausalToken {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CausalToken {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a read of a connection with replicas may go, for one handle.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ReadPlan {
    /// To the primary (pinned, inside the sticky window, or the handle's
    /// last position is unknown).
    Primary,
    /// To a replica, which must have replayed `at_least` if given.
    Replica { at_least: Option<Position> },
}

/// What one handle remembers of its writes, per connection with replicas.
#[derive(Default)]
pub(crate) struct HandleState {
    /// Set once anything is recorded: reads skip the lock until then.
    touched: AtomicBool,
    entries: Mutex<Vec<Entry>>,
}

struct Entry {
    connection: String,
    last_write: Option<Instant>,
    position: Option<Position>,
    /// A write whose position could not be read: reads go to the primary
    /// until then.
    primary_until: Option<Instant>,
}

impl HandleState {
    /// A state that starts from `token`'s positions.
    pub(crate) fn from_token(token: &CausalToken) -> HandleState {
        let state = HandleState::default();
        for (connection, position) in token.positions() {
            state.update(connection, |e| {
                e.position = Some(match e.position.take() {
                    Some(p) => p.max(position.clone()),
                    None => position.clone(),
                })
            });
        }
        state
    }

    fn update(&self, connection: &str, change: impl FnOnce(&mut Entry)) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let i = match entries.iter().position(|e| e.connection == connection) {
            Some(i) => i,
            None => {
                entries.push(Entry {
                    connection: connection.to_owned(),
                    last_write: None,
                    position: None,
                    primary_until: None,
                });
                entries.len() - 1
            }
        };
        change(&mut entries[i]);
        self.touched.store(true, Ordering::Release);
    }

    /// A write on `connection` completed (committed) now; `position` is
    /// the primary's position after it, when read-your-writes asks for it:
    /// `Err(window)` when it could not be read, so reads go to the primary
    /// for `window`.
    pub(crate) fn wrote(
        &self,
        connection: &str,
        position: Option<std::result::Result<Position, Duration>>,
    ) {
        let now = Instant::now();
        self.update(connection, |e| {
            e.last_write = Some(now);
            match position {
                Some(Ok(p)) => {
                    e.position = Some(match e.position.take() {
                        Some(old) => old.max(p),
                        None => p,
                    })
                }
                Some(Err(window)) => e.primary_until = Some(now + window),
                None => {}
            }
        });
    }

    /// Where this handle's next read of `connection` may go.
    pub(crate) fn plan(&self, connection: &str, mode: ReadYourWrites) -> ReadPlan {
        if !self.touched.load(Ordering::Acquire) {
            return ReadPlan::Replica { at_least: None };
        }
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let Some(e) = entries.iter().find(|e| e.connection == connection) else {
            return ReadPlan::Replica { at_least: None };
        };
        let now = Instant::now();
        if let (ReadYourWrites::StickyWindow(window), Some(at)) = (mode, e.last_write) {
            if now.saturating_duration_since(at) < window {
                return ReadPlan::Primary;
            }
        }
        if e.primary_until.is_some_and(|until| now < until) {
            return ReadPlan::Primary;
        }
        ReadPlan::Replica {
            at_least: e.position.clone(),
        }
    }

    /// The positions remembered, as a token.
    pub(crate) fn token(&self) -> CausalToken {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        CausalToken {
            positions: entries
                .iter()
                .filter_map(|e| Some((e.connection.clone(), e.position.clone()?)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_text_round_trips_and_refuses_other_text() {
        let state = HandleState::default();
        state.wrote("db", Some(Ok(Position::parse("pg:0/16B3748").unwrap())));
        state.wrote("shop", Some(Ok(Position::parse("mariadb:0-1-42").unwrap())));
        let token = state.token();
        let text = token.to_string();
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{text}"
        );
        let back: CausalToken = text.parse().unwrap();
        assert_eq!(back, token);
        assert_eq!(back.connections().collect::<Vec<_>>(), ["db", "shop"]);
        let json = serde_json::to_string(&token).unwrap();
        assert_eq!(serde_json::from_str::<CausalToken>(&json).unwrap(), token);
        let mut cut = text.clone();
        cut.truncate(text.len() - 3);
        for bad in [
            "",
            "!!",
            cut.as_str(),
            "W10x",
            "WyJkYiJd",
            "W1siZGIiLCJvcmFjbGU6MSJdXQ",
        ] {
            assert!(
                matches!(
                    bad.parse::<CausalToken>(),
                    Err(Error::InvalidCausalToken { .. })
                ),
                "{bad:?}"
            );
        }
        // An empty token is valid text.
        assert!("W10".parse::<CausalToken>().unwrap().is_empty());
    }

    #[test]
    fn plans_follow_the_mode() {
        let sticky = ReadYourWrites::StickyWindow(Duration::from_secs(60));
        let state = HandleState::default();
        assert_eq!(
            state.plan("db", sticky),
            ReadPlan::Replica { at_least: None }
        );
        state.wrote("db", None);
        assert_eq!(state.plan("db", sticky), ReadPlan::Primary);
        assert_eq!(
            state.plan("other", sticky),
            ReadPlan::Replica { at_least: None }
        );
        assert_eq!(
            state.plan("db", ReadYourWrites::Off),
            ReadPlan::Replica { at_least: None }
        );
        let causal = ReadYourWrites::CausalToken {
            wait: Duration::from_secs(1),
        };
        let p = Position::parse("pg:0/10").unwrap();
        state.wrote("db", Some(Ok(p.clone())));
        assert_eq!(
            state.plan("db", causal),
            ReadPlan::Replica {
                at_least: Some(p.clone())
            }
        );
        // Positions only grow.
        state.wrote("db", Some(Ok(Position::parse("pg:0/8").unwrap())));
        assert_eq!(
            state.plan("db", causal),
            ReadPlan::Replica { at_least: Some(p) }
        );
        // A position that could not be read sends reads to the primary for the window.
        state.wrote("db", Some(Err(Duration::from_secs(60))));
        assert_eq!(state.plan("db", causal), ReadPlan::Primary);
    }
}
