//! Accepted-commit records: what the daemon found about every commit and annotated tag it let
//! into a ref whose rulesets require signatures (verdict, signer, key, policy hash, receive
//! time), kept in `<state-dir>/pushguard.db`.
//!
//! `pushguard verify` reports these records instead of judging the key again today, so a later
//! key rotation, expiry or soft revocation does not turn accepted history red (GitHub's
//! "persistent verification", kept by the server that enforced it). Hard revocation still wins:
//! see `verify.rs`.
//!
//! Storage is SQLite in WAL mode (readers such as `pushguard verify` never block the daemon),
//! one transaction per push, schema versioned with `user_version`. The SQL is plain — no
//! SQLite-only types or syntax besides the two pragmas — so a PostgreSQL store can replace it
//! with the same table (`ON CONFLICT DO NOTHING` exists in both).
//!
//! ```ignore
//! let store = RecordStore::open(state_dir)?;
//! store.insert(&records_for_push(&loaded, &change))?;
//! let seen = RecordStore::open_existing(state_dir)?.and_then(|s| s.lookup(id, repo).ok().flatten());
//! ```

use crate::bundle::PolicyBundle;
use anyhow::{bail, Context, Result};
use rules::facts::{Change, SignatureCheck};
use rules::identity::{self, ObjectVerdict, LEGACY_VERDICTS};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The database file in the state directory.
pub const DB_FILE: &str = "pushguard.db";

/// Bumped with every schema change; `open` migrates older databases forward.
const SCHEMA_VERSION: i64 = 2;

/// Version 1. One row per (repository, object, ref) the object was accepted into; the first
/// acceptance is kept.
const SCHEMA_V1: &str = "
CREATE TABLE accepted_object (
    object_id       TEXT    NOT NULL,
    object_type     TEXT    NOT NULL CHECK (object_type IN ('commit', 'tag')),
    repo            TEXT    NOT NULL,
    ref_name        TEXT    NOT NULL,
    verdict         TEXT    NOT NULL,
    signer          TEXT,
    key_fingerprint TEXT,
    reason          TEXT,
    policy_hash     TEXT    NOT NULL,
    received_at     BIGINT  NOT NULL,
    PRIMARY KEY (repo, object_id, ref_name)
);
CREATE INDEX accepted_object_by_id ON accepted_object (object_id);
";

/// Version 2: `verdict` holds the engine's reason code (`rules::Code`), like reports and
/// `pushguard verify`. Version 1 stored the verifier's word for some verdicts (`malformed` for
/// `malformed_signature`); `migrate` rewrites them from `rules::identity::LEGACY_VERDICTS`.
const MIGRATE_V2: &str = "UPDATE accepted_object SET verdict = ?2 WHERE verdict = ?1";

/// Commit or annotated tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    Commit,
    Tag,
}

impl ObjectType {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Commit => "commit",
            ObjectType::Tag => "tag",
        }
    }
}

/// What the daemon found about one object when it accepted a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub object_id: String,
    pub object_type: ObjectType,
    /// The repository's git directory, as the hook named it (canonical path).
    pub repo: String,
    /// The ref the object was pushed to.
    pub ref_name: String,
    /// `good`, or the engine's reason code as serialized (`rules::identity::ObjectVerdict`):
    /// `identity_mismatch`, `no_signature` for a commit a bypass actor pushed, ...
    pub verdict: String,
    /// The policy identity owning the signing key.
    pub signer: Option<String>,
    /// The signing key's fingerprint.
    pub key: Option<String>,
    /// Why the verdict is not `good`, as the pusher was told.
    pub reason: Option<String>,
    /// SHA-256 of the policy (and its key files) that judged the push.
    pub policy_hash: String,
    /// Receive time, Unix seconds.
    pub received_at: i64,
}

/// The record database. The daemon holds one; `Mutex` because a `rusqlite::Connection` is not
/// `Sync` and writes are serialised by SQLite anyway.
pub struct RecordStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl RecordStore {
    /// Open (creating if needed) `<state_dir>/pushguard.db` for writing, in WAL mode, migrated to
    /// the current schema.
    pub fn open(state_dir: &Path) -> Result<RecordStore> {
        let path = state_dir.join(DB_FILE);
        // Owner-only: it names signers, keys and pushers. SQLite gives its -wal and -shm files
        // the database file's mode, so the file is made (or narrowed) first.
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("cannot create the record database {}", path.display()))?;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("cannot restrict {}", path.display()))?;
        }
        let mut conn = Connection::open(&path)
            .with_context(|| format!("cannot open the record database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // WAL: `pushguard verify` and backups read while the daemon writes, without blocking it.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(db = %path.display(), mode, "the record database is not in WAL mode");
        }
        // NORMAL is durable across process crashes in WAL mode; a power cut may lose the last
        // pushes' records (verify then falls back to the signature time, and says so).
        conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        migrate(&mut conn).with_context(|| format!("record database {}", path.display()))?;
        Ok(RecordStore {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// Open an existing database read-only (for `pushguard verify`); `None` when there is none.
    pub fn open_existing(state_dir: &Path) -> Result<Option<RecordStore>> {
        let path = state_dir.join(DB_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open the record database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .with_context(|| format!("cannot read the record database {}", path.display()))?;
        if version == 0 {
            // Created but never migrated (an interrupted first start): no records.
            return Ok(None);
        }
        if version > SCHEMA_VERSION {
            bail!(
                "{} has schema version {version}, newer than this pushguard knows ({SCHEMA_VERSION}): upgrade pushguard",
                path.display()
            );
        }
        Ok(Some(RecordStore {
            conn: Mutex::new(conn),
            path,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        match self.conn.lock() {
            Ok(c) => c,
            // A panic while holding the lock leaves the connection usable: SQLite rolls back
            // the open transaction when the `Transaction` is dropped.
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Insert the records of one push in one transaction. An object already recorded for the
    /// same repository and ref keeps its first record. Returns how many rows were added.
    pub fn insert(&self, records: &[Record]) -> Result<usize> {
        if records.is_empty() {
            return Ok(0);
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut added = 0;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO accepted_object
                   (object_id, object_type, repo, ref_name, verdict, signer, key_fingerprint,
                    reason, policy_hash, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (repo, object_id, ref_name) DO NOTHING",
            )?;
            for r in records {
                added += stmt.execute(params![
                    r.object_id,
                    r.object_type.as_str(),
                    r.repo,
                    r.ref_name,
                    r.verdict,
                    r.signer,
                    r.key,
                    r.reason,
                    r.policy_hash,
                    r.received_at,
                ])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// The record that speaks for `object_id`: one from `repo` if there is one (object ids name
    /// content, so a record from another repository on this server is about the same bytes),
    /// a `good` one before others, then the earliest.
    pub fn lookup(&self, object_id: &str, repo: &str) -> Result<Option<Record>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT object_id, object_type, repo, ref_name, verdict, signer, key_fingerprint,
                    reason, policy_hash, received_at
               FROM accepted_object
              WHERE object_id = ?1
              ORDER BY CASE WHEN repo = ?2 THEN 0 ELSE 1 END,
                       CASE WHEN verdict = 'good' THEN 0 ELSE 1 END,
                       received_at
              LIMIT 1",
        )?;
        let rec = stmt
            .query_row(params![object_id, repo], |r| {
                let kind: String = r.get(1)?;
                Ok(Record {
                    object_id: r.get(0)?,
                    object_type: if kind == "tag" {
                        ObjectType::Tag
                    } else {
                        ObjectType::Commit
                    },
                    repo: r.get(2)?,
                    ref_name: r.get(3)?,
                    verdict: current_spelling(r.get(4)?),
                    signer: r.get(5)?,
                    key: r.get(6)?,
                    reason: r.get(7)?,
                    policy_hash: r.get(8)?,
                    received_at: r.get(9)?,
                })
            })
            .optional()?;
        Ok(rec)
    }

    /// Number of rows.
    #[cfg(test)]
    pub fn count(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM accepted_object", [], |r| r.get(0))?)
    }
}

/// Bring the schema to `SCHEMA_VERSION`, in one transaction.
fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction()?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        bail!(
            "schema version {version} is newer than this pushguard knows ({SCHEMA_VERSION}): upgrade pushguard"
        );
    }
    if version < 1 {
        tx.execute_batch(SCHEMA_V1)?;
    }
    if version < 2 {
        for (old, code) in LEGACY_VERDICTS {
            tx.execute(MIGRATE_V2, params![old, code.as_str()])?;
        }
    }
    // Later versions: `if version < 3 { ALTER TABLE ... }`.
    if version < SCHEMA_VERSION {
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
    }
    tx.commit()?;
    Ok(())
}

/// A stored verdict in today's spelling: a database of an older version that the daemon has
/// not migrated yet (`pushguard verify` opens it read-only) may hold an old one.
fn current_spelling(stored: String) -> String {
    match ObjectVerdict::parse(&stored) {
        Some(v) => v.as_str().to_string(),
        None => stored,
    }
}

/// The records of an accepted push: every commit (and annotated tag) new to a ref whose
/// rulesets require signatures.
pub fn records_for_push(loaded: &PolicyBundle, change: &Change) -> Vec<Record> {
    let policy = &loaded.policy;
    let mut out = Vec::new();
    for u in &change.updates {
        let rules = identity::signature_rules(policy, &u.name, change.default_branch.as_deref());
        if u.new.is_none() || rules.is_empty() {
            continue;
        }
        let mut push =
            |id: &str, object_type, sig: &SignatureCheck, committer: &str, author: &str| {
                // Good only when every signature rule's identity binding holds.
                let tag = object_type == ObjectType::Tag;
                let b = identity::bind_under_all(policy, &rules, sig, committer, author, tag);
                out.push(Record {
                    object_id: id.to_string(),
                    object_type,
                    repo: change.repo.clone(),
                    ref_name: u.name.clone(),
                    verdict: b.verdict().to_string(),
                    signer: sig.identity.clone(),
                    key: sig.key.clone(),
                    reason: b.reason(),
                    policy_hash: loaded.hash.clone(),
                    received_at: change.now,
                });
            };
        if let Some(tag) = &u.tag {
            let email = tag.tagger.as_ref().map(|p| p.email.as_str()).unwrap_or("");
            push(&tag.id, ObjectType::Tag, &tag.signature, email, email);
        }
        for c in &u.commits {
            push(
                &c.id,
                ObjectType::Commit,
                &c.signature,
                &c.committer.email,
                &c.author.email,
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, repo: &str, verdict: &str, at: i64) -> Record {
        Record {
            object_id: id.to_string(),
            object_type: ObjectType::Commit,
            repo: repo.to_string(),
            ref_name: "refs/heads/main".to_string(),
            verdict: verdict.to_string(),
            signer: Some("alice".to_string()),
            key: Some("SHA256:abc".to_string()),
            reason: None,
            policy_hash: "ph".to_string(),
            received_at: at,
        }
    }

    #[test]
    fn records_survive_reopening_and_keep_the_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RecordStore::open(dir.path()).expect("open");
        assert_eq!(
            store
                .insert(&[
                    rec("a1", "/r.git", "good", 10),
                    rec("b2", "/r.git", "good", 10)
                ])
                .expect("insert"),
            2
        );
        // The same object, repo and ref again: the first record stays.
        assert_eq!(
            store
                .insert(&[rec("a1", "/r.git", "no_signature", 20)])
                .expect("insert"),
            0
        );
        drop(store);
        let again = RecordStore::open(dir.path()).expect("reopen");
        assert_eq!(again.count().expect("count"), 2);
        let ro = RecordStore::open_existing(dir.path())
            .expect("open read-only")
            .expect("exists");
        let r = ro.lookup("a1", "/r.git").expect("lookup").expect("found");
        assert_eq!(r.verdict, "good");
        assert_eq!(r.received_at, 10);
        assert_eq!(ro.lookup("zz", "/r.git").expect("lookup"), None);
    }

    #[test]
    fn lookup_prefers_the_same_repository_then_good() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RecordStore::open(dir.path()).expect("open");
        store
            .insert(&[
                rec("c3", "/other.git", "good", 5),
                rec("c3", "/r.git", "no_signature", 7),
            ])
            .expect("insert");
        let r = store
            .lookup("c3", "/r.git")
            .expect("lookup")
            .expect("found");
        assert_eq!(r.repo, "/r.git");
        let r = store
            .lookup("c3", "/x.git")
            .expect("lookup")
            .expect("found");
        assert_eq!(r.repo, "/other.git");
    }

    #[test]
    fn schema_is_versioned_and_wal() {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(RecordStore::open(dir.path()).expect("open"));
        let conn = Connection::open(dir.path().join(DB_FILE)).expect("open");
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, SCHEMA_VERSION);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "wal");
        conn.execute_batch("PRAGMA user_version = 99")
            .expect("bump");
        drop(conn);
        let err = RecordStore::open(dir.path())
            .err()
            .expect("a newer schema is refused");
        assert!(format!("{err:#}").contains("newer"), "{err:#}");
        assert!(RecordStore::open_existing(dir.path()).is_err());
    }

    #[test]
    fn read_only_open_works_after_the_daemon_closed_the_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RecordStore::open(dir.path()).expect("open");
        store
            .insert(&[rec("d4", "/r.git", "good", 3)])
            .expect("insert");
        drop(store);
        // The last connection closed: SQLite checkpointed and removed the -wal and -shm files.
        assert!(!dir.path().join("pushguard.db-wal").exists());
        let ro = RecordStore::open_existing(dir.path())
            .expect("read-only open without -wal/-shm")
            .expect("exists");
        assert!(ro.lookup("d4", "/r.git").expect("lookup").is_some());
    }

    #[test]
    fn missing_database_is_no_records() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(RecordStore::open_existing(dir.path())
            .expect("no error")
            .is_none());
    }

    /// A version 1 database, as pushguard before issue 13 left it: `malformed` where the
    /// engine says `malformed_signature`.
    fn version_1_database(dir: &Path) {
        let conn = Connection::open(dir.join(DB_FILE)).expect("create");
        conn.execute_batch(SCHEMA_V1).expect("schema v1");
        for (id, verdict) in [("m1", "malformed"), ("g1", "good"), ("n1", "no_signature")] {
            conn.execute(
                "INSERT INTO accepted_object
                   (object_id, object_type, repo, ref_name, verdict, signer, key_fingerprint,
                    reason, policy_hash, received_at)
                 VALUES (?1, 'commit', '/r.git', 'refs/heads/main', ?2, NULL, NULL, NULL, 'ph', 1)",
                params![id, verdict],
            )
            .expect("insert");
        }
        conn.execute_batch("PRAGMA user_version = 1")
            .expect("version 1");
    }

    fn stored_verdicts(dir: &Path) -> Vec<(String, String)> {
        let conn = Connection::open(dir.join(DB_FILE)).expect("open");
        let mut stmt = conn
            .prepare("SELECT object_id, verdict FROM accepted_object ORDER BY object_id")
            .expect("select");
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    }

    #[test]
    fn migrating_to_version_2_rewrites_old_verdict_spellings() {
        let dir = tempfile::tempdir().expect("tempdir");
        version_1_database(dir.path());
        let store = RecordStore::open(dir.path()).expect("open migrates");
        let v: i64 = store
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, 2);
        drop(store);
        let stored = stored_verdicts(dir.path());
        assert_eq!(
            stored,
            [
                ("g1".to_string(), "good".to_string()),
                ("m1".to_string(), "malformed_signature".to_string()),
                ("n1".to_string(), "no_signature".to_string()),
            ]
        );
        // Every stored verdict is `good` or a code of the engine.
        for (_, verdict) in &stored {
            assert!(ObjectVerdict::parse(verdict).is_some(), "{verdict}");
        }
        // Migrating again changes nothing.
        drop(RecordStore::open(dir.path()).expect("reopen"));
        assert_eq!(stored_verdicts(dir.path()), stored);
    }

    /// `pushguard verify` opens the database read-only: one the daemon has not migrated yet
    /// still reads in today's spelling.
    #[test]
    fn a_version_1_database_reads_in_todays_spelling() {
        let dir = tempfile::tempdir().expect("tempdir");
        version_1_database(dir.path());
        let ro = RecordStore::open_existing(dir.path())
            .expect("open read-only")
            .expect("exists");
        let r = ro.lookup("m1", "/r.git").expect("lookup").expect("found");
        assert_eq!(r.verdict, "malformed_signature");
        assert_eq!(stored_verdicts(dir.path())[1].1, "malformed", "not written");
    }

    /// The records of a push judge every object with `rules::identity`, under every signature
    /// rule of the ref, and store the engine's codes.
    #[test]
    fn records_store_the_engines_codes() {
        use rules::facts::{Commit, KeyVerdict, Person, RefUpdate, Tag};
        let policy = rules::Policy::from_yaml(
            r#"version: 1
identities:
  alice: {emails: [alice@example.org]}
  bob: {emails: [bob@example.org]}
rulesets:
  - name: signed
    target: branch
    include: [main]
    rules:
      required_signatures: {identity: any}
      full_attestation: {identity: author, mergers: [alice]}
  - name: tags
    target: tag
    include: ["**"]
    rules:
      required_signatures: {}
"#,
        )
        .expect("policy");
        let loaded = PolicyBundle {
            policy,
            keyring: crypto::Keyring::new(),
            scanner: None,
            hash: "ph".to_string(),
            approvals: Default::default(),
        };
        let person = |email: &str| Person {
            email: email.to_string(),
            ..Person::default()
        };
        let sig = |verdict, identity: Option<&str>| SignatureCheck {
            verdict,
            key: Some("K".to_string()),
            identity: identity.map(str::to_string),
            ..SignatureCheck::default()
        };
        let commit = |id: &str, author: &str, s: SignatureCheck| {
            std::sync::Arc::new(Commit {
                id: id.to_string(),
                author: person(author),
                committer: person("alice@example.org"),
                signature: s,
                ..Commit::default()
            })
        };
        let change = Change {
            repo: "/r.git".to_string(),
            now: 7,
            updates: vec![
                RefUpdate {
                    name: "refs/heads/main".to_string(),
                    old: Some("0".repeat(40)),
                    new: Some("c1".to_string()),
                    commits: vec![
                        commit(
                            "c1",
                            "alice@example.org",
                            sig(KeyVerdict::Good, Some("alice")),
                        ),
                        commit(
                            "c2",
                            "bob@example.org",
                            sig(KeyVerdict::Good, Some("alice")),
                        ),
                        commit("c3", "alice@example.org", sig(KeyVerdict::Malformed, None)),
                    ],
                    ..RefUpdate::default()
                },
                RefUpdate {
                    name: "refs/tags/v1".to_string(),
                    new: Some("t1".to_string()),
                    tag: Some(Tag {
                        id: "t1".to_string(),
                        name: "v1".to_string(),
                        tagger: Some(person("bob@example.org")),
                        signature: sig(KeyVerdict::Good, Some("alice")),
                        ..Tag::default()
                    }),
                    ..RefUpdate::default()
                },
                RefUpdate {
                    name: "refs/heads/free".to_string(),
                    new: Some("c9".to_string()),
                    commits: vec![commit("c9", "x@example.org", SignatureCheck::unsigned())],
                    ..RefUpdate::default()
                },
            ],
            ..Change::default()
        };
        let got: Vec<(String, String, Option<String>)> = records_for_push(&loaded, &change)
            .into_iter()
            .map(|r| (r.object_id, r.verdict, r.reason))
            .collect();
        assert_eq!(
            got,
            [
                ("c1".to_string(), "good".to_string(), None),
                ("c2".to_string(), "identity_mismatch".to_string(), Some("signed with alice's key K, but the author email <bob@example.org> belongs to bob".to_string())),
                ("c3".to_string(), "malformed_signature".to_string(), Some("malformed signature".to_string())),
                ("t1".to_string(), "identity_mismatch".to_string(), Some("signed with alice's key K, but the tagger email <bob@example.org> belongs to bob".to_string())),
            ],
            "no records for a ref without signature rules"
        );
    }

    /// The cost of one push's records: well under a millisecond per commit, off the hot path.
    #[test]
    fn a_thousand_commit_push_is_one_quick_transaction() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RecordStore::open(dir.path()).expect("open");
        let recs: Vec<Record> = (0..1000)
            .map(|i| rec(&format!("{i:040x}"), "/r.git", "good", 1))
            .collect();
        let t = std::time::Instant::now();
        assert_eq!(store.insert(&recs).expect("insert"), 1000);
        let ms = t.elapsed().as_millis();
        eprintln!("1000 records in {ms} ms");
        assert!(ms < 5_000, "{ms} ms");
    }
}
