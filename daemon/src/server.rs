//! The daemon: hook socket, repository watcher, policy reload, graceful shutdown.

use crate::audit::{self, AuditLog, Peer};
use crate::budget::Budget;
use crate::bundle::PolicyBundle;
use crate::collect;
use crate::records::{self, RecordStore};
use anyhow::{bail, Context, Result};
use arc_swap::ArcSwap;
use hooks::install::{self, InstallOptions};
use hooks::wire::{self, FrameError, HookKind, HookRequest, HookResponse, PROTOCOL_VERSION};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

/// Everything `pushguard serve` is told.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub repos: PathBuf,
    pub policy: Option<PathBuf>,
    pub socket: PathBuf,
    pub state_dir: PathBuf,
    pub socket_mode: u32,
    /// Peers (besides the daemon's own user) allowed to ask for verdicts.
    pub allow_uids: Vec<u32>,
    pub chain: bool,
    pub scan_interval: Duration,
    pub grace: Duration,
    /// The binary the installed hooks run.
    pub binary: PathBuf,
    /// How many pushes are judged at once (others wait for a turn within their deadline).
    pub max_concurrent: usize,
    /// The fingerprint key file [default: `<state-dir>/fingerprint.key`, made if missing].
    pub fingerprint_key: Option<PathBuf>,
}

struct Shared {
    cfg: ServeConfig,
    loaded: ArcSwap<PolicyBundle>,
    audit: AuditLog,
    /// Accepted-commit records (`<state-dir>/pushguard.db`).
    records: RecordStore,
    own_uid: u32,
    /// Judgements running at once: each holds a permit while it works, so a burst of large
    /// pushes queues instead of taking all memory and every core.
    judgements: Arc<tokio::sync::Semaphore>,
    /// Keys secret fingerprints; every policy loaded gets it.
    fingerprint_key: secrets::FingerprintKey,
    /// Repositories whose hooks could not be installed (a foreign hook, a server's own hook
    /// dispatcher), with how their hooks and config looked then: warned about once, retried when
    /// that changes or the policy is reloaded, not at every scan.
    refused: std::sync::Mutex<std::collections::HashMap<PathBuf, RepoStamp>>,
}

/// What a repository's hooks and config look like, to tell whether they changed: (inode, size,
/// modification time) of each, or nothing where a file is missing.
type RepoStamp = [Option<(u64, u64, i64, i64)>; 4];

fn repo_stamp(repo: &Path) -> RepoStamp {
    let stamp = |p: PathBuf| {
        std::fs::metadata(p)
            .ok()
            .map(|m| (m.ino(), m.len(), m.mtime(), m.mtime_nsec()))
    };
    [
        stamp(repo.join("hooks")),
        stamp(repo.join("hooks/pre-receive")),
        stamp(repo.join("hooks/update")),
        stamp(repo.join("config")),
    ]
}

/// The uid this process runs as (owner of /proc/self).
fn own_uid() -> Result<u32> {
    Ok(std::fs::metadata("/proc/self")
        .context("cannot read /proc/self to learn our uid")?
        .uid())
}

/// Run the daemon until SIGTERM or SIGINT.
pub async fn serve(cfg: ServeConfig) -> Result<()> {
    // Signal handlers before anything else: a SIGHUP or SIGTERM must never kill us by default.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    // Configuration first: nothing is bound with an invalid policy.
    let loaded = PolicyBundle::load(cfg.policy.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    for w in &loaded.policy.warnings {
        warn!(policy = %policy_name(&cfg), "{w}");
    }
    std::fs::create_dir_all(&cfg.state_dir)
        .with_context(|| format!("cannot create state dir {}", cfg.state_dir.display()))?;
    std::fs::create_dir_all(&cfg.repos)
        .with_context(|| format!("cannot create repos dir {}", cfg.repos.display()))?;
    let fingerprint_key = match &cfg.fingerprint_key {
        Some(p) => crate::fpkey::read(p)?,
        None => crate::fpkey::load_or_create(&cfg.state_dir)?,
    };
    let loaded = loaded.with_fingerprint_key(Some(fingerprint_key.clone()));
    let audit = audit::open(&cfg.state_dir.join("audit.jsonl"))?;
    let records = RecordStore::open(&cfg.state_dir)?;
    let listener = bind(&cfg.socket, cfg.socket_mode)?;
    let shared = Arc::new(Shared {
        own_uid: own_uid()?,
        judgements: Arc::new(tokio::sync::Semaphore::new(cfg.max_concurrent.max(1))),
        loaded: ArcSwap::from_pointee(loaded),
        audit,
        records,
        fingerprint_key,
        refused: Default::default(),
        cfg,
    });
    info!(
        socket = %shared.cfg.socket.display(),
        repos = %shared.cfg.repos.display(),
        policy = %policy_name(&shared.cfg),
        policy_hash = %shared.loaded.load().hash,
        "pushguard daemon started"
    );
    install_all(&shared, true);

    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let socket_id = socket_identity(&shared.cfg.socket);
    tracker.spawn(accept_loop(
        shared.clone(),
        listener,
        stop.clone(),
        tracker.clone(),
    ));
    tracker.spawn(watch_loop(
        shared.clone(),
        stop.clone(),
        tracker.clone(),
        socket_id,
    ));

    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                info!("SIGHUP: reloading the policy");
                reload(&shared);
            }
        }
    }
    info!("shutting down: finishing requests in flight");
    stop.cancel();
    tracker.close();
    if tokio::time::timeout(shared.cfg.grace, tracker.wait())
        .await
        .is_err()
    {
        warn!(
            grace_ms = shared.cfg.grace.as_millis() as u64,
            "requests still running after the grace period; exiting"
        );
    }
    let _ = std::fs::remove_file(&shared.cfg.socket);
    info!("pushguard daemon stopped");
    Ok(())
}

fn policy_name(cfg: &ServeConfig) -> String {
    cfg.policy
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "<embedded default>".to_string())
}

/// Bind the socket, refusing to steal it from a running daemon.
fn bind(path: &Path, mode: u32) -> Result<UnixListener> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "another daemon is listening on {}; stop it or choose another --socket",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("cannot listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set permissions on {}", path.display()))?;
    Ok(listener)
}

async fn accept_loop(
    shared: Arc<Shared>,
    listener: UnixListener,
    stop: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            conn = listener.accept() => match conn {
                Ok((stream, _)) => {
                    let shared = shared.clone();
                    tracker.spawn(async move { handle(shared, stream).await });
                }
                Err(e) => {
                    error!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Read one frame with the protocol's codec ([`hooks::wire`]): the async twin of
/// [`wire::read_frame`], built from the same pure pieces, with the same size check before any
/// of the body is read.
async fn read_frame(stream: &mut (impl AsyncRead + Unpin)) -> Result<Vec<u8>, FrameError> {
    let mut header = [0u8; wire::HEADER_LEN];
    let mut got = 0;
    while got < wire::HEADER_LEN {
        match stream.read(&mut header[got..]).await? {
            0 => return Err(wire::header_ended(got)),
            n => got += n,
        }
    }
    let len = wire::decode_header(header)?;
    // Grow with the bytes that arrive (see `wire::read_frame`): an idle client that announced
    // a large frame holds no memory.
    let mut body = Vec::new();
    (&mut *stream)
        .take(len as u64)
        .read_to_end(&mut body)
        .await?;
    wire::check_body(&body, len)?;
    Ok(body)
}

/// The request on a connection; `None` when the client closed it before its first byte (a
/// liveness probe such as `pushguard doctor`'s: not a refusal worth auditing).
async fn read_request(stream: &mut (impl AsyncRead + Unpin)) -> Result<Option<HookRequest>> {
    let body = match read_frame(stream).await {
        Ok(b) => b,
        Err(FrameError::Closed) => return Ok(None),
        Err(e) => return Err(anyhow::Error::new(e).context("cannot read the request")),
    };
    let req: HookRequest = serde_json::from_slice(&body).context("malformed request")?;
    if req.version != PROTOCOL_VERSION {
        bail!(
            "hook speaks protocol {} and the daemon {PROTOCOL_VERSION}: reinstall the hooks (pushguard install)",
            req.version
        );
    }
    Ok(Some(req))
}

/// The repository a request names, checked to be one this daemon guards: a bare repository
/// under `--repos`, once symlinks and `..` are resolved. A client of the socket must not make the
/// daemon read (or run git in) a repository of its choosing.
fn guarded_repository(git_dir: &str, repos: &Path) -> Result<PathBuf> {
    let root = std::fs::canonicalize(repos)
        .with_context(|| format!("cannot resolve the repositories root {}", repos.display()))?;
    let dir = std::fs::canonicalize(git_dir)
        .map_err(|e| anyhow::anyhow!("{git_dir} is not a repository this daemon guards: {e}"))?;
    if !dir.starts_with(&root) || !install::is_bare_repo(&dir) {
        bail!(
            "{git_dir} is not a repository this daemon guards (a bare repository under {})",
            root.display()
        );
    }
    Ok(dir)
}

/// The frame that carries `resp`, or why it cannot be sent (a response over the protocol's
/// limit, which the hook would refuse to read anyway).
fn response_frame(resp: &HookResponse) -> Result<Vec<u8>, String> {
    let body = serde_json::to_vec(resp).map_err(|e| format!("cannot encode the verdict: {e}"))?;
    wire::encode_frame(&body).map_err(|e| format!("cannot send the verdict: {e}"))
}

/// Send `resp`; one that cannot be framed is replaced by an error (which rejects the push) and
/// said so in the log.
async fn respond(stream: &mut (impl AsyncWrite + Unpin), resp: &HookResponse) {
    let frame = match response_frame(resp) {
        Ok(f) => f,
        Err(e) => {
            error!("{e}");
            match response_frame(&error_response(e)) {
                Ok(f) => f,
                Err(e) => {
                    error!("{e}");
                    return;
                }
            }
        }
    };
    if let Err(e) = stream.write_all(&frame).await {
        warn!("cannot send the verdict to the hook: {e}");
    }
}

fn error_response(msg: String) -> HookResponse {
    HookResponse {
        version: PROTOCOL_VERSION,
        allowed: false,
        message: String::new(),
        error: Some(msg),
    }
}

async fn handle(shared: Arc<Shared>, mut stream: UnixStream) {
    let started = Instant::now();
    let peer = match stream.peer_cred() {
        Ok(c) => c,
        Err(e) => {
            warn!("cannot read peer credentials: {e}");
            return;
        }
    };
    if peer.uid() != shared.own_uid && !shared.cfg.allow_uids.contains(&peer.uid()) {
        warn!(uid = peer.uid(), pid = ?peer.pid(), "refused a connection from a user that may not ask for verdicts");
        respond(
            &mut stream,
            &error_response(format!(
                "uid {} may not use this pushguard daemon",
                peer.uid()
            )),
        )
        .await;
        return;
    }
    let who = Peer {
        uid: peer.uid(),
        pid: peer.pid(),
    };
    let refuse = |git_dir: &str, why: String| {
        warn!(uid = who.uid, pid = ?who.pid, "refused a request: {why}");
        // The refusal is an answer in itself; a failed audit line is logged by the writer.
        let _ = audit::append(&shared.audit, &audit::refused(git_dir, &why, who));
        error_response(why)
    };
    let req = match tokio::time::timeout(Duration::from_secs(10), read_request(&mut stream)).await {
        Ok(Ok(None)) => {
            debug!(pid = ?peer.pid(), "a connection closed before its first byte (a probe)");
            return;
        }
        Ok(Ok(Some(mut r))) => match guarded_repository(&r.git_dir, &shared.cfg.repos) {
            Ok(dir) => {
                r.git_dir = dir.to_string_lossy().into_owned();
                r
            }
            Err(e) => {
                let resp = refuse(&r.git_dir, format!("{e:#}"));
                respond(&mut stream, &resp).await;
                return;
            }
        },
        Ok(Err(e)) => {
            let resp = refuse("", format!("{e:#}"));
            respond(&mut stream, &resp).await;
            return;
        }
        Err(_) => {
            warn!(pid = ?peer.pid(), "no request within 10 s");
            return;
        }
    };
    let loaded = shared.loaded.load_full();
    let timeout = Duration::from_millis(loaded.policy.settings.timeout_ms);
    // One budget for the whole judgement, waiting for a turn included: the hook stops waiting
    // at its own deadline, and the work must not outlive it.
    let budget = Budget::within(timeout);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let outcome = match tokio::time::timeout(timeout, shared.judgements.clone().acquire_owned())
        .await
    {
        Err(_) | Ok(Err(_)) => Err(format!(
            "no verdict within {} ms: the daemon is busy with other pushes; try again",
            timeout.as_millis()
        )),
        Ok(Ok(permit)) => {
            let job_loaded = loaded.clone();
            let job_req = req.clone();
            let job_budget = budget.clone();
            let job = tokio::task::spawn_blocking(move || {
                let _permit = permit; // held until the work stops, not until we stop waiting
                judge(&job_loaded, &job_req, now, &job_budget)
            });
            let left = budget.remaining().unwrap_or(timeout);
            match tokio::time::timeout(left, job).await {
                Ok(Ok(Ok(o))) => Ok(o),
                Ok(Ok(Err(e))) => Err(format!("{e:#}")),
                Ok(Err(e)) => Err(format!("internal error: {e}")),
                Err(_) => {
                    budget.cancel();
                    Err(format!(
                        "no verdict within {} ms (settings.timeout_seconds): the push is too large to judge in time; push it in parts",
                        timeout.as_millis()
                    ))
                }
            }
        }
    };
    let elapsed = started.elapsed();
    let mut resp = match &outcome {
        Ok((_, report)) => HookResponse {
            version: PROTOCOL_VERSION,
            allowed: report.allowed,
            message: rules::render::text(report),
            error: None,
        },
        Err(e) => {
            error!(repo = %req.git_dir, "could not decide: {e}");
            error_response(e.clone())
        }
    };
    // A verdict too large to send is no verdict: audited and answered as the error it is.
    let unsendable = response_frame(&resp).err();
    if let Some(e) = &unsendable {
        error!(repo = %req.git_dir, "{e}");
        resp = error_response(e.clone());
    }
    let result = match &unsendable {
        Some(e) => Err(e),
        None => outcome.as_ref().map(|(_, r)| r),
    };
    // No verdict without its record: a push that cannot be audited is not accepted.
    let written = audit::decision(
        &req,
        &loaded.hash,
        outcome.as_ref().ok().map(|(c, _)| c),
        result,
        who,
        elapsed,
    )
    .and_then(|record| audit::append(&shared.audit, &record));
    if let Err(e) = written {
        resp = error_response(format!("{e:#}; nothing is accepted until it can be"));
    }
    debug!(repo = %req.git_dir, allowed = resp.allowed, ms = elapsed.as_millis() as u64, "verdict");
    respond(&mut stream, &resp).await;
    drop(stream);
    // Records are written after the hook has its verdict, so they add no push latency. The
    // task is tracked (we await it), so a graceful shutdown waits for the write.
    if let Ok((change, report)) = outcome {
        if report.allowed && resp.allowed {
            let _ = tokio::task::spawn_blocking(move || record_accepted(&shared, &loaded, &change))
                .await;
        }
    }
}

/// Record the commits and tags of an accepted push; a failure is logged, never fatal.
fn record_accepted(shared: &Shared, loaded: &PolicyBundle, change: &rules::Change) {
    let started = Instant::now();
    let recs = records::records_for_push(loaded, change);
    match shared.records.insert(&recs) {
        Ok(added) => debug!(
            repo = %change.repo,
            objects = recs.len(),
            added,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "accepted objects recorded"
        ),
        Err(e) => error!(repo = %change.repo, "cannot record the accepted objects: {e:#}"),
    }
}

/// Collect the facts and evaluate: the whole decision for one request.
pub fn judge(
    loaded: &PolicyBundle,
    req: &HookRequest,
    now: i64,
    budget: &Budget,
) -> Result<(rules::Change, rules::Report)> {
    let change = collect::from_hook(loaded, req, now, budget)?;
    let mut report = rules::evaluate(&loaded.policy, &change);
    if req.hook == HookKind::Update {
        if let Some(u) = req.updates.first() {
            report = report.for_ref(&u.name);
        }
    }
    Ok((change, report))
}

/// Reload the policy; on error keep the old one.
fn reload(shared: &Shared) {
    match PolicyBundle::load(shared.cfg.policy.as_deref()) {
        Ok(new) => {
            let new = new.with_fingerprint_key(Some(shared.fingerprint_key.clone()));
            for w in &new.policy.warnings {
                warn!(policy = %policy_name(&shared.cfg), "{w}");
            }
            info!(policy_hash = %new.hash, "policy reloaded");
            shared.loaded.store(Arc::new(new));
            install_all(shared, true);
        }
        Err(e) => error!("the new policy is invalid, keeping the old one: {e}"),
    }
}

/// Install hooks into every bare repository under the root. `all`: also repositories that
/// already have them (to refresh settings after a policy change).
fn install_all(shared: &Shared, all: bool) {
    let loaded = shared.loaded.load();
    for repo in install::find_bare_repos(&shared.cfg.repos) {
        if !all && install::is_installed(&repo) {
            continue;
        }
        let stamp = repo_stamp(&repo);
        let mut refused = shared.refused.lock().unwrap_or_else(|e| e.into_inner());
        if !all && refused.get(&repo) == Some(&stamp) {
            continue;
        }
        let rel = repo
            .strip_prefix(&shared.cfg.repos)
            .unwrap_or(&repo)
            .to_string_lossy()
            .into_owned();
        let opts = InstallOptions {
            binary: shared.cfg.binary.clone(),
            socket: shared.cfg.socket.clone(),
            chain: shared.cfg.chain,
            on_error: Some(match loaded.policy.on_error_for(&rel) {
                rules::policy::OnError::FailClosed => install::OnError::FailClosed,
                rules::policy::OnError::FailOpen => install::OnError::FailOpen,
            }),
            timeout_ms: Some(loaded.policy.settings.timeout_ms + 2_000),
            audit_log: Some(shared.cfg.state_dir.join("audit.jsonl")),
            mode: None,
            forward_env: Some(
                loaded
                    .policy
                    .pusher_env
                    .iter()
                    .filter(|v| !hooks::env::is_forwarded(v))
                    .cloned()
                    .collect(),
            ),
        };
        match install::install(&repo, &opts) {
            Ok(_) => {
                refused.remove(&repo);
                debug!(repo = %repo.display(), "hooks installed");
            }
            Err(e) => {
                warn!("{e}");
                refused.insert(repo, stamp);
            }
        }
    }
}

/// Watch for new repositories and policy file changes.
/// The socket file's (device, inode): what tells our socket from one put in its place.
fn socket_identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// If the socket file is gone or is no longer ours (deleted by a clean-up job, replaced by a
/// stray file), listen again at its path; pushes meanwhile fail closed. A path another live
/// process listens on is left alone, and said so.
fn keep_socket(
    shared: &Arc<Shared>,
    stop: &CancellationToken,
    tracker: &TaskTracker,
    ours: &mut Option<(u64, u64)>,
) {
    let path = &shared.cfg.socket;
    if socket_identity(path) == *ours && ours.is_some() {
        return;
    }
    error!(socket = %path.display(), "the daemon's socket was removed or replaced; listening again");
    match bind(path, shared.cfg.socket_mode) {
        Ok(listener) => {
            *ours = socket_identity(path);
            tracker.spawn(accept_loop(
                shared.clone(),
                listener,
                stop.clone(),
                tracker.clone(),
            ));
        }
        Err(e) => error!("cannot listen again: {e:#}"),
    }
}

async fn watch_loop(
    shared: Arc<Shared>,
    stop: CancellationToken,
    tracker: TaskTracker,
    mut socket_id: Option<(u64, u64)>,
) {
    // The policy file and every file it names, with their modification times.
    let snapshot = |shared: &Shared| -> Vec<(PathBuf, Option<SystemTime>)> {
        let Some(policy_file) = &shared.cfg.policy else {
            return Vec::new();
        };
        crate::bundle::referenced_files(&shared.loaded.load().policy, policy_file)
            .into_iter()
            .map(|p| {
                let m = std::fs::metadata(&p).and_then(|m| m.modified()).ok();
                (p, m)
            })
            .collect()
    };
    let mut last = snapshot(&shared);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(shared.cfg.scan_interval) => {}
        }
        keep_socket(&shared, &stop, &tracker, &mut socket_id);
        let now = snapshot(&shared);
        if now != last {
            info!("the policy or a file it names changed: reloading");
            let s = shared.clone();
            let _ = tokio::task::spawn_blocking(move || reload(&s)).await;
            // After a reload the policy may name other files.
            last = snapshot(&shared);
        } else {
            let s = shared.clone();
            let _ = tokio::task::spawn_blocking(move || install_all(&s, false)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hooks::audit::{AuditEvent, AuditRecord, AuditVerdict};
    use hooks::wire::WireUpdate;
    use std::io::Write as _;

    /// A directory that `install::is_bare_repo` takes for a bare repository.
    fn bare_dir(path: &Path) {
        for d in ["objects", "refs"] {
            std::fs::create_dir_all(path.join(d)).expect("mkdir");
        }
        std::fs::write(path.join("HEAD"), "ref: refs/heads/main\n").expect("HEAD");
    }

    #[test]
    fn only_bare_repositories_under_the_root_are_guarded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("repos");
        bare_dir(&root.join("team/app.git"));
        bare_dir(&dir.path().join("elsewhere.git"));
        std::fs::create_dir_all(root.join("plain")).expect("mkdir");
        let canonical = std::fs::canonicalize(root.join("team/app.git")).expect("canonical");
        let guarded = |p: PathBuf| guarded_repository(&p.to_string_lossy(), &root);
        assert_eq!(
            guarded(root.join("team/app.git")).expect("guarded"),
            canonical
        );
        // `..` is resolved before the check, both ways.
        assert_eq!(
            guarded(root.join("team/../team/app.git")).expect("guarded"),
            canonical
        );
        let e = guarded(root.join("../elsewhere.git")).expect_err("outside the root");
        assert!(
            e.to_string()
                .contains("is not a repository this daemon guards"),
            "{e}"
        );
        // A symlink under the root that leads out of it is judged by where it leads.
        std::os::unix::fs::symlink(dir.path().join("elsewhere.git"), root.join("link.git"))
            .expect("symlink");
        assert!(guarded(root.join("link.git")).is_err());
        // Not a bare repository, and not there at all.
        assert!(guarded(root.join("plain")).is_err());
        let e = guarded(root.join("missing.git")).expect_err("missing");
        assert!(e.to_string().contains("missing.git"), "{e}");
        // A root that does not exist guards nothing.
        assert!(guarded_repository(
            &canonical.to_string_lossy(),
            &dir.path().join("no-such-root")
        )
        .is_err());
    }

    #[test]
    fn an_error_response_rejects_and_says_why() {
        let r = error_response("the daemon is busy".into());
        assert_eq!(r.version, PROTOCOL_VERSION);
        assert!(!r.allowed);
        assert_eq!(r.error.as_deref(), Some("the daemon is busy"));
        assert!(r.message.is_empty());
    }

    fn config(dir: &Path) -> ServeConfig {
        ServeConfig {
            repos: dir.join("repos"),
            policy: None,
            socket: dir.join("pushguard.sock"),
            state_dir: dir.join("state"),
            socket_mode: 0o600,
            allow_uids: Vec::new(),
            chain: false,
            scan_interval: Duration::from_secs(60),
            grace: Duration::from_secs(1),
            binary: PathBuf::from("/usr/bin/pushguard-hook"),
            max_concurrent: 2,
            fingerprint_key: None,
        }
    }

    #[test]
    fn the_policy_is_named_by_its_file_or_as_the_default() {
        let dir = Path::new("/srv");
        assert_eq!(policy_name(&config(dir)), "<embedded default>");
        let cfg = ServeConfig {
            policy: Some(PathBuf::from("/etc/pushguard/policy.yaml")),
            ..config(dir)
        };
        assert_eq!(policy_name(&cfg), "/etc/pushguard/policy.yaml");
    }

    /// A connected pair: the hook's end (blocking, as the hook uses it) and the daemon's (tokio).
    fn pair() -> (std::os::unix::net::UnixStream, UnixStream) {
        let (hook, daemon) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        hook.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        daemon.set_nonblocking(true).expect("nonblocking");
        (hook, UnixStream::from_std(daemon).expect("tokio stream"))
    }

    fn request(git_dir: &str) -> HookRequest {
        HookRequest {
            version: PROTOCOL_VERSION,
            hook: HookKind::PreReceive,
            git_dir: git_dir.to_string(),
            updates: vec![WireUpdate {
                old: "0".repeat(40),
                new: "1".repeat(40),
                name: "refs/heads/main".into(),
            }],
            env: Default::default(),
        }
    }

    /// What the daemon reads from bytes the hook's side sent (then closed).
    async fn read_sent(bytes: Vec<u8>) -> Result<Option<HookRequest>> {
        let (mut hook, mut daemon) = pair();
        let writer = std::thread::spawn(move || {
            let _ = hook.write_all(&bytes);
        });
        let got = read_request(&mut daemon).await;
        writer.join().expect("writer");
        got
    }

    #[tokio::test]
    async fn the_daemon_reads_what_the_hooks_codec_writes_and_refuses_the_rest() {
        let req = request("/srv/git/a.git");
        let mut frame = Vec::new();
        wire::write_frame(&mut frame, &serde_json::to_vec(&req).expect("json")).expect("frame");
        assert_eq!(
            read_sent(frame.clone()).await.expect("read"),
            Some(req.clone())
        );
        // A connection closed before its first byte is a probe, not an error.
        assert_eq!(read_sent(Vec::new()).await.expect("probe"), None);
        // Oversized: refused from the header alone, with the size and the limit named.
        let mut over = ((wire::MAX_FRAME + 1) as u32).to_be_bytes().to_vec();
        over.extend_from_slice(b"{}");
        let e = read_sent(over).await.expect_err("too large");
        assert_eq!(
            format!("{e:#}"),
            format!(
                "cannot read the request: frame of {} bytes is too large: the limit is {}",
                wire::MAX_FRAME + 1,
                wire::MAX_FRAME
            )
        );
        // Truncated, in the body and in the header.
        let e = read_sent(frame[..frame.len() - 3].to_vec())
            .await
            .expect_err("truncated");
        assert!(format!("{e:#}").contains("frame ended after"), "{e:#}");
        let e = read_sent(vec![0, 0]).await.expect_err("half a header");
        assert!(format!("{e:#}").contains("header ended after 2"), "{e:#}");
        // Garbage in a well-formed frame, and another protocol version.
        let e = read_sent(wire::encode_frame(b"not json!").expect("frame"))
            .await
            .expect_err("garbage");
        assert!(format!("{e:#}").starts_with("malformed request"), "{e:#}");
        let mut v2 = serde_json::to_value(&req).expect("json");
        v2["version"] = 2.into();
        let body = serde_json::to_vec(&v2).expect("json");
        let e = read_sent(wire::encode_frame(&body).expect("frame"))
            .await
            .expect_err("version");
        assert!(
            e.to_string()
                .starts_with("hook speaks protocol 2 and the daemon 1"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn the_hooks_codec_reads_what_the_daemon_sends_and_an_oversized_verdict_is_an_error() {
        let (mut hook, mut daemon) = pair();
        let verdict = HookResponse {
            version: PROTOCOL_VERSION,
            allowed: false,
            message: "pushguard: push rejected\n".into(),
            error: None,
        };
        respond(&mut daemon, &verdict).await;
        let huge = HookResponse {
            message: "x".repeat(wire::MAX_FRAME),
            ..verdict.clone()
        };
        respond(&mut daemon, &huge).await;
        drop(daemon);
        let read = |hook: &mut std::os::unix::net::UnixStream| -> HookResponse {
            serde_json::from_slice(&wire::read_frame(hook).expect("a frame")).expect("response")
        };
        assert_eq!(read(&mut hook), verdict);
        // The verdict over the limit was not sent; an error (which rejects) went instead.
        let replaced = read(&mut hook);
        assert!(!replaced.allowed);
        let why = replaced.error.expect("an error");
        assert!(
            why.starts_with("cannot send the verdict: frame of ")
                && why.contains("is too large: the limit is"),
            "{why}"
        );
        assert!(matches!(
            wire::read_frame(&mut hook),
            Err(wire::FrameError::Closed)
        ));
    }

    /// A daemon's shared state over a temporary directory, with the embedded default policy.
    fn shared(dir: &Path, own_uid: u32) -> Arc<Shared> {
        let cfg = config(dir);
        std::fs::create_dir_all(&cfg.repos).expect("repos");
        std::fs::create_dir_all(&cfg.state_dir).expect("state");
        let key = secrets::FingerprintKey::new([7; 32]);
        let loaded = PolicyBundle::load(None)
            .expect("the default policy")
            .with_fingerprint_key(Some(key.clone()));
        Arc::new(Shared {
            audit: audit::open(&cfg.state_dir.join("audit.jsonl")).expect("audit log"),
            records: RecordStore::open(&cfg.state_dir).expect("records"),
            own_uid,
            judgements: Arc::new(tokio::sync::Semaphore::new(1)),
            loaded: ArcSwap::from_pointee(loaded),
            fingerprint_key: key,
            refused: Default::default(),
            cfg,
        })
    }

    fn audit_lines(shared: &Shared) -> Vec<AuditRecord> {
        std::fs::read_to_string(shared.cfg.state_dir.join("audit.jsonl"))
            .expect("audit log")
            .lines()
            .map(|l| serde_json::from_str(l).expect("an audit record"))
            .collect()
    }

    /// One connection through `handle`: the bytes the hook sends, and the answer it gets (none
    /// when the daemon closed without one).
    async fn exchange(shared: &Arc<Shared>, sent: Vec<u8>) -> Option<HookResponse> {
        let (mut hook, daemon) = pair();
        let task = tokio::spawn(handle(shared.clone(), daemon));
        let answer = tokio::task::spawn_blocking(move || {
            // As the hook does: the daemon may answer and close before reading it all.
            let _ = hook.write_all(&sent);
            let _ = hook.shutdown(std::net::Shutdown::Write);
            match wire::read_frame(&mut hook) {
                Ok(body) => Some(serde_json::from_slice(&body).expect("a response")),
                Err(wire::FrameError::Closed) => None,
                Err(e) => panic!("a broken answer: {e}"),
            }
        })
        .await
        .expect("hook side");
        task.await.expect("handle");
        answer
    }

    fn framed(req: &HookRequest) -> Vec<u8> {
        wire::encode_frame(&serde_json::to_vec(req).expect("json")).expect("frame")
    }

    fn own_uid_for_tests() -> u32 {
        own_uid().expect("uid")
    }

    #[tokio::test]
    async fn a_request_in_a_verdict_out_and_a_line_in_the_audit_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shared = shared(dir.path(), own_uid_for_tests());
        let repo = shared.cfg.repos.join("app.git");
        let init = std::process::Command::new("git")
            .args(["init", "--bare", "-q"])
            .arg(&repo)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .expect("git");
        assert!(init.success());
        // Deleting branches, judged by the embedded default policy: a topic branch may go,
        // the default branch may not.
        let deletion = |name: &str| {
            let mut req = request(&repo.to_string_lossy());
            req.updates[0] = WireUpdate {
                old: "1".repeat(40),
                new: "0".repeat(40),
                name: name.into(),
            };
            req
        };
        let topic = deletion("refs/heads/topic");
        let resp = exchange(&shared, framed(&topic)).await.expect("a verdict");
        assert_eq!(
            (resp.allowed, resp.error.as_deref()),
            (true, None),
            "{resp:?}"
        );
        let resp = exchange(&shared, framed(&deletion("refs/heads/main")))
            .await
            .expect("a verdict");
        assert_eq!(
            (resp.allowed, resp.error.as_deref()),
            (false, None),
            "{resp:?}"
        );
        assert!(
            resp.message.contains("protect-default-branch"),
            "{}",
            resp.message
        );
        let lines = audit_lines(&shared);
        let verdicts: Vec<_> = lines.iter().map(|l| (l.event, l.verdict)).collect();
        assert_eq!(
            verdicts,
            [
                (AuditEvent::Decision, Some(AuditVerdict::Allowed)),
                (AuditEvent::Decision, Some(AuditVerdict::Rejected))
            ]
        );
        assert_eq!(lines[0].updates, topic.updates);
        assert_eq!(
            lines[1].violations.as_deref().map(|v| v[0]["code"].clone()),
            Some("ref_deleted".into()),
            "{:?}",
            lines[1]
        );
        assert_eq!(
            lines[0].repo,
            std::fs::canonicalize(&repo)
                .expect("canonical")
                .to_string_lossy()
        );
        assert_eq!(
            lines[0].peer.map(|p| p.uid),
            Some(own_uid_for_tests()),
            "the peer is this process"
        );
    }

    #[tokio::test]
    async fn refused_requests_are_answered_with_the_reason_and_audited() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shared = shared(dir.path(), own_uid_for_tests());
        // A repository this daemon does not guard.
        let resp = exchange(&shared, framed(&request("/etc")))
            .await
            .expect("an answer");
        assert!(!resp.allowed);
        assert!(
            resp.error
                .as_deref()
                .is_some_and(|e| e.contains("/etc is not a repository this daemon guards")),
            "{resp:?}"
        );
        // An oversized frame: refused from its header, and the hook gets an error (it rejects).
        let resp = exchange(&shared, u32::MAX.to_be_bytes().to_vec())
            .await
            .expect("an answer");
        assert!(!resp.allowed);
        assert_eq!(
            resp.error.as_deref(),
            Some(
                format!(
                    "cannot read the request: frame of {} bytes is too large: the limit is {}",
                    u32::MAX,
                    wire::MAX_FRAME
                )
                .as_str()
            )
        );
        // A probe (closed before its first byte) gets no answer and no audit line.
        assert_eq!(exchange(&shared, Vec::new()).await, None);
        let lines = audit_lines(&shared);
        let events: Vec<_> = lines.iter().map(|l| (l.event, l.repo.as_str())).collect();
        assert_eq!(
            events,
            [(AuditEvent::Refused, "/etc"), (AuditEvent::Refused, "")]
        );
        assert!(lines[1]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("too large")));
    }

    #[tokio::test]
    async fn a_peer_whose_uid_is_not_allowed_is_refused_before_its_request_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        // The daemon "runs as" another uid than this test, and allows none.
        let shared = shared(dir.path(), own_uid_for_tests().wrapping_add(1));
        let resp = exchange(&shared, framed(&request("/etc")))
            .await
            .expect("an answer");
        assert_eq!(
            resp.error,
            Some(format!(
                "uid {} may not use this pushguard daemon",
                own_uid_for_tests()
            ))
        );
        assert!(
            audit_lines(&shared).is_empty(),
            "refused before any request"
        );
    }
}
