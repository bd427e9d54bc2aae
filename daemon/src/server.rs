//! The daemon: hook socket, repository watcher, policy reload, graceful shutdown.

use crate::audit::AuditLog;
use crate::collect;
use crate::records::{self, RecordStore};
use crate::state::Loaded;
use anyhow::{bail, Context, Result};
use arc_swap::ArcSwap;
use hooks::install::{self, InstallOptions};
use hooks::wire::{self, HookKind, HookRequest, HookResponse, PROTOCOL_VERSION};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
}

struct Shared {
    cfg: ServeConfig,
    loaded: ArcSwap<Loaded>,
    audit: AuditLog,
    /// Accepted-commit records (`<state-dir>/pushguard.db`).
    records: RecordStore,
    own_uid: u32,
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
    let loaded = Loaded::load(cfg.policy.as_deref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    for w in &loaded.policy.warnings {
        warn!(policy = %policy_name(&cfg), "{w}");
    }
    std::fs::create_dir_all(&cfg.state_dir)
        .with_context(|| format!("cannot create state dir {}", cfg.state_dir.display()))?;
    std::fs::create_dir_all(&cfg.repos)
        .with_context(|| format!("cannot create repos dir {}", cfg.repos.display()))?;
    let audit = AuditLog::open(&cfg.state_dir.join("audit.jsonl"))?;
    let records = RecordStore::open(&cfg.state_dir)?;
    let listener = bind(&cfg.socket, cfg.socket_mode)?;
    let shared = Arc::new(Shared {
        own_uid: own_uid()?,
        loaded: ArcSwap::from_pointee(loaded),
        audit,
        records,
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
    tracker.spawn(accept_loop(
        shared.clone(),
        listener,
        stop.clone(),
        tracker.clone(),
    ));
    tracker.spawn(watch_loop(shared.clone(), stop.clone()));

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

async fn read_request(stream: &mut UnixStream) -> Result<HookRequest> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > wire::MAX_FRAME {
        bail!("request of {len} bytes is too large");
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await?;
    let req: HookRequest = serde_json::from_slice(&body).context("malformed request")?;
    if req.version != PROTOCOL_VERSION {
        bail!(
            "hook speaks protocol {} and the daemon {PROTOCOL_VERSION}: reinstall the hooks (pushguard install)",
            req.version
        );
    }
    Ok(req)
}

async fn respond(stream: &mut UnixStream, resp: &HookResponse) {
    let body = match serde_json::to_vec(resp) {
        Ok(b) => b,
        Err(e) => {
            error!("cannot encode a response: {e}");
            return;
        }
    };
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
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
    let req = match tokio::time::timeout(Duration::from_secs(10), read_request(&mut stream)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            warn!(pid = ?peer.pid(), "bad request: {e:#}");
            respond(&mut stream, &error_response(format!("{e:#}"))).await;
            return;
        }
        Err(_) => {
            warn!(pid = ?peer.pid(), "no request within 10 s");
            return;
        }
    };
    let loaded = shared.loaded.load_full();
    let timeout = Duration::from_millis(loaded.policy.settings.timeout_ms);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let job_loaded = loaded.clone();
    let job_req = req.clone();
    let job = tokio::task::spawn_blocking(move || judge(&job_loaded, &job_req, now));
    let outcome = match tokio::time::timeout(timeout, job).await {
        Ok(Ok(Ok(o))) => Ok(o),
        Ok(Ok(Err(e))) => Err(format!("{e:#}")),
        Ok(Err(e)) => Err(format!("internal error: {e}")),
        Err(_) => Err(format!(
            "no verdict within {} ms (settings.timeout_seconds)",
            timeout.as_millis()
        )),
    };
    let elapsed = started.elapsed();
    let resp = match &outcome {
        Ok((change, report)) => {
            shared.audit.decision(
                &req,
                &loaded.hash,
                Some(change),
                Ok(report),
                peer.uid(),
                peer.pid(),
                elapsed,
            );
            let text = rules::render::text(report);
            HookResponse {
                version: PROTOCOL_VERSION,
                allowed: report.allowed,
                message: text,
                error: None,
            }
        }
        Err(e) => {
            error!(repo = %req.git_dir, "could not decide: {e}");
            shared.audit.decision(
                &req,
                &loaded.hash,
                None,
                Err(e),
                peer.uid(),
                peer.pid(),
                elapsed,
            );
            error_response(e.clone())
        }
    };
    debug!(repo = %req.git_dir, allowed = resp.allowed, ms = elapsed.as_millis() as u64, "verdict");
    respond(&mut stream, &resp).await;
    drop(stream);
    // Records are written after the hook has its verdict, so they add no push latency. The
    // task is tracked (we await it), so a graceful shutdown waits for the write.
    if let Ok((change, report)) = outcome {
        if report.allowed {
            let _ = tokio::task::spawn_blocking(move || record_accepted(&shared, &loaded, &change))
                .await;
        }
    }
}

/// Record the commits and tags of an accepted push; a failure is logged, never fatal.
fn record_accepted(shared: &Shared, loaded: &Loaded, change: &rules::Change) {
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
    loaded: &Loaded,
    req: &HookRequest,
    now: i64,
) -> Result<(rules::Change, rules::Report)> {
    let change = collect::push_change(loaded, req, now)?;
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
    match Loaded::load(shared.cfg.policy.as_deref()) {
        Ok(new) => {
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
        let rel = repo
            .strip_prefix(&shared.cfg.repos)
            .unwrap_or(&repo)
            .to_string_lossy()
            .into_owned();
        let opts = InstallOptions {
            binary: shared.cfg.binary.clone(),
            socket: shared.cfg.socket.clone(),
            chain: shared.cfg.chain,
            on_error: Some(loaded.policy.on_error_for(&rel).as_str().to_string()),
            timeout_ms: Some(loaded.policy.settings.timeout_ms + 2_000),
            audit_log: Some(shared.cfg.state_dir.join("audit.jsonl")),
            mode: None,
        };
        match install::install(&repo, &opts) {
            Ok(_) => debug!(repo = %repo.display(), "hooks installed"),
            Err(e) => warn!("{e}"),
        }
    }
}

/// Watch for new repositories and policy file changes.
async fn watch_loop(shared: Arc<Shared>, stop: CancellationToken) {
    // The policy file and every file it names, with their modification times.
    let snapshot = |shared: &Shared| -> Vec<(PathBuf, Option<SystemTime>)> {
        let Some(policy_file) = &shared.cfg.policy else {
            return Vec::new();
        };
        crate::state::referenced_files(&shared.loaded.load().policy, policy_file)
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
