//! The test world: fixture scripts for keys and repositories, a real `pushguard serve` daemon,
//! real `git` clients pushing through the installed hooks.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_pushguard");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures-repos")
}

/// A temp dir with the pinned environment of `fixtures-repos/world.sh`, and test keys.
pub struct World {
    pub dir: tempfile::TempDir,
    /// The variables `world.sh` pins, read from it once.
    pinned: Vec<(String, String)>,
}

impl World {
    pub fn new() -> World {
        let dir = tempfile::Builder::new()
            .prefix("pg-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let out = Command::new("bash")
            .arg(fixtures().join("world.sh"))
            .arg("env")
            .arg(dir.path())
            .output()
            .expect("run world.sh");
        assert!(out.status.success(), "world.sh env: {out:?}");
        let pinned = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let w = World { dir, pinned };
        w.script("keys.sh", &[]);
        w
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn key(&self, name: &str) -> PathBuf {
        self.path().join("keys").join(name)
    }

    pub fn ssh_public(&self, name: &str) -> String {
        std::fs::read_to_string(self.key(&format!("{name}.pub")))
            .expect("public key")
            .trim()
            .to_string()
    }

    pub fn gpg_fingerprint(&self) -> String {
        std::fs::read_to_string(self.key("alice.fpr"))
            .expect("fingerprint")
            .trim()
            .to_string()
    }

    /// The environment `fixtures-repos/world.sh` pins, for commands run from Rust: the same
    /// world the fixture scripts and the benchmarks run in.
    pub fn env(&self) -> Vec<(String, String)> {
        self.pinned.clone()
    }

    pub fn script(&self, name: &str, args: &[&str]) {
        let out = Command::new("bash")
            .arg(fixtures().join(name))
            .args(args)
            .env("WORLD", self.path())
            .output()
            .expect("run fixture script");
        assert!(
            out.status.success(),
            "{name} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A bare repo (under `repos/`) with alice's signed first commit, and a client clone.
    pub fn seed(&self, name: &str, format: &str) -> (PathBuf, Client) {
        let bare = self.path().join("repos").join(format!("{name}.git"));
        let client = self.path().join("clients").join(name);
        std::fs::create_dir_all(self.path().join("repos")).expect("mkdir");
        std::fs::create_dir_all(self.path().join("clients")).expect("mkdir");
        self.script(
            "seed.sh",
            &[
                &bare.display().to_string(),
                &client.display().to_string(),
                format,
            ],
        );
        (
            bare,
            Client {
                dir: client,
                env: self.env(),
                world: self.path().to_path_buf(),
                tick: std::sync::atomic::AtomicI64::new(0),
            },
        )
    }

    /// Another clone of `bare`.
    pub fn clone_of(&self, bare: &Path, name: &str) -> Client {
        let dir = self.path().join("clients").join(name);
        let c = Client {
            dir: dir.clone(),
            env: self.env(),
            world: self.path().to_path_buf(),
            tick: std::sync::atomic::AtomicI64::new(0),
        };
        let out = c.cmd_in(
            self.path(),
            &[
                "clone",
                "-q",
                &format!("file://{}", bare.display()),
                &dir.display().to_string(),
            ],
        );
        assert!(
            out.status.success(),
            "clone: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        c
    }

    /// A policy naming the test keys. `rulesets` is YAML appended under `rulesets:`.
    pub fn policy(&self, extra_top: &str, rulesets: &str) -> PathBuf {
        let text = format!(
            r#"version: 1
{extra_top}
identities:
  alice:
    emails: [alice@example.org]
    keys:
      - ssh: "{alice}"
      - openpgp: keys/alice.asc
    roles: [maintainer]
  bob:
    emails: [bob@example.org]
    keys:
      - ssh: "{bob}"
    roles: [developer]
  carol:
    emails: [carol@example.org]
    keys:
      - ssh: "{carol}"
    roles: [developer]
  root:
    emails: [root@example.org]
    roles: [admin]
pusher:
  env: [PUSHGUARD_USER]
rulesets:
{rulesets}"#,
            alice = self.ssh_public("alice"),
            bob = self.ssh_public("bob"),
            carol = self.ssh_public("carol"),
        );
        let path = self.path().join("policy.yaml");
        std::fs::write(&path, text).expect("write policy");
        path
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // gpg starts an agent per GNUPGHOME; stop it with the world.
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.path().join("gnupg"))
            .output();
    }
}

/// The rulesets most tests use: the issue's example.
pub const STANDARD_RULESETS: &str = r#"  - name: protect-main
    target: branch
    include: [~DEFAULT_BRANCH, main, "release/*"]
    bypass: [role:admin]
    rules:
      non_fast_forward: {}
      deletion: {}
      required_linear_history: {}
      required_signatures: {}
      update:
        allow: [role:maintainer, bob, carol]
  - name: release-tags
    target: tag
    include: ["v*"]
    rules:
      creation:
        allow: [role:maintainer]
      update: {}
      deletion: {}
      required_signatures: {}
"#;

/// `main` fully attested: every commit verified, merges by maintainers, clean merges only.
pub const ATTESTED: &str = r#"  - name: attested-main
    target: branch
    include: [main]
    rules:
      full_attestation:
        mergers: [role:maintainer]
        clean_merge: true
"#;

/// The usual world: a repository `app` seeded with alice's signed commit, the issue's
/// rulesets, and a daemon serving it.
pub fn standard_world() -> (World, PathBuf, Client, Daemon) {
    let w = World::new();
    let (bare, client) = w.seed("app", "sha1");
    let policy = w.policy("", STANDARD_RULESETS);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    (w, bare, client, d)
}

/// A running `pushguard serve`.
pub struct Daemon {
    pub child: Option<Child>,
    pub socket: PathBuf,
    pub state: PathBuf,
    pub log: PathBuf,
}

impl Daemon {
    /// Start serving `world/repos` with `policy`, and wait until the hooks are in `wait_for`.
    pub fn start(world: &World, policy: Option<&Path>, wait_for: &[&Path]) -> Daemon {
        Self::start_with(world, Path::new(BIN), policy, wait_for, &[])
    }

    /// `start`, with the `pushguard` binary at `bin` (the hooks run the `pushguard-hook` beside
    /// it) and more `serve` arguments (e.g. `--socket-mode`, `--allow-uid`).
    pub fn start_with(
        world: &World,
        bin: &Path,
        policy: Option<&Path>,
        wait_for: &[&Path],
        extra: &[&str],
    ) -> Daemon {
        let socket = world.path().join("pg.sock");
        let state = world.path().join("state");
        let log = world.path().join("daemon.log");
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .arg("--repos")
            .arg(world.path().join("repos"))
            .arg("--socket")
            .arg(&socket)
            .arg("--state-dir")
            .arg(&state)
            .args(["--scan-interval", "0.2", "--grace", "5"])
            .args(extra)
            .envs(world.env())
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        if let Some(p) = policy {
            cmd.arg("--policy").arg(p);
        }
        let child = cmd.spawn().expect("spawn pushguard serve");
        let d = Daemon {
            child: Some(child),
            socket,
            state,
            log,
        };
        d.wait_ready(wait_for);
        d
    }

    fn wait_ready(&self, repos: &[&Path]) {
        let start = Instant::now();
        loop {
            let hooks_ok = repos.iter().all(|r| {
                std::fs::read_to_string(r.join("hooks/pre-receive"))
                    .map(|t| t.contains("pushguard-hook"))
                    .unwrap_or(false)
            });
            if self.socket.exists() && hooks_ok {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "daemon not ready; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.state.join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit lines are JSON"))
            .collect()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Send a signal with kill(1).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([format!("-{sig}"), self.pid().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Kill it hard (no cleanup), as a crash would.
    pub fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
        }
        if let Some(mut c) = self.child.take() {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Pushed {
    /// The fingerprint of the first secret the rejection names.
    pub fn fingerprint(&self) -> String {
        self.flat()
            .split("fingerprint: ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .expect("fingerprint shown")
            .to_string()
    }

    /// The text with all runs of white space folded to one space, for phrases that wrap.
    pub fn flat(&self) -> String {
        self.text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// A git client working tree.
pub struct Client {
    pub dir: PathBuf,
    env: Vec<(String, String)>,
    world: PathBuf,
    tick: std::sync::atomic::AtomicI64,
}

/// The result of a push.
#[derive(Debug)]
pub struct Pushed {
    pub ok: bool,
    /// What the pusher saw (stderr), `remote: ` prefixes and trailing blanks removed.
    pub text: String,
}

/// Who makes a commit and how it is signed.
#[derive(Clone, Copy)]
pub enum Sign<'a> {
    /// `git commit -S` with this SSH key file name (in the world's keys/).
    Ssh(&'a str),
    /// `git commit -S` with alice's OpenPGP key.
    Gpg,
    Unsigned,
}

impl Client {
    fn cmd_in(&self, dir: &Path, args: &[&str]) -> Output {
        let n = self.tick.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = 1_735_700_000 + n * 60;
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .envs(self.env.iter().cloned())
            .env("GIT_AUTHOR_DATE", format!("@{t} +0000"))
            .env("GIT_COMMITTER_DATE", format!("@{t} +0000"))
            .output()
            .expect("run git")
    }

    /// Run git; panic on failure.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.cmd_in(&self.dir, args);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Commit a change to `file` as `email`, signed as asked. Returns the commit id.
    pub fn commit(&self, file: &str, email: &str, sign: Sign) -> String {
        let path = self.dir.join(file);
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&format!(
            "line {}\n",
            self.tick.load(std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::write(&path, text).expect("write");
        self.git(&["add", file]);
        let name = email.split('@').next().unwrap_or("someone").to_string();
        let ident = [
            "-c".to_string(),
            format!("user.name={name}"),
            "-c".to_string(),
            format!("user.email={email}"),
        ];
        let mut args: Vec<String> = ident.to_vec();
        match sign {
            Sign::Ssh(key) => {
                args.extend([
                    "-c".into(),
                    "gpg.format=ssh".into(),
                    "-c".into(),
                    format!(
                        "user.signingkey={}",
                        self.world.join("keys").join(key).display()
                    ),
                    "commit".into(),
                    "-q".into(),
                    "-S".into(),
                ]);
            }
            Sign::Gpg => {
                let fpr = std::fs::read_to_string(self.world.join("keys/alice.fpr")).expect("fpr");
                args.extend([
                    "-c".into(),
                    "gpg.format=openpgp".into(),
                    "-c".into(),
                    format!("user.signingkey={}", fpr.trim()),
                    "commit".into(),
                    "-q".into(),
                    "-S".into(),
                ]);
            }
            Sign::Unsigned => args.extend(["commit".into(), "-q".into(), "--no-gpg-sign".into()]),
        }
        args.extend(["-m".into(), format!("Change {file} as {name}")]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.git(&refs);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Run git; report success instead of panicking (for commands that may stop on conflicts).
    pub fn git_ok(&self, args: &[&str]) -> bool {
        self.cmd_in(&self.dir, args).status.success()
    }

    /// Run git with SSH signing as `key`, committing as `email`.
    pub fn git_signed(&self, key: &str, email: &str, args: &[&str]) -> String {
        let signing = format!(
            "user.signingkey={}",
            self.world.join("keys").join(key).display()
        );
        let user = format!("user.email={email}");
        let mut all = vec!["-c", "gpg.format=ssh", "-c", &signing, "-c", &user];
        all.extend_from_slice(args);
        self.git(&all)
    }

    /// Merges `branch` into the current branch with alice's signed merge commit, after
    /// slipping a file into the merge commit itself (an "evil merge": a change no side branch
    /// carries). Returns the merge commit's id.
    pub fn evil_merge(&self, branch: &str) -> String {
        self.git(&["merge", "-q", "--no-ff", "--no-commit", branch]);
        std::fs::write(self.dir.join("hidden.txt"), "not reviewed anywhere\n").expect("write");
        self.git(&["add", "hidden.txt"]);
        self.git_signed(
            "alice",
            "alice@example.org",
            &["commit", "-q", "-S", "-m", &format!("Merge {branch}")],
        );
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    /// `git push` as `pusher` (PUSHGUARD_USER), with extra args.
    pub fn push_as(&self, pusher: Option<&str>, args: &[&str]) -> Pushed {
        let mut cmd = Command::new("git");
        cmd.arg("push")
            .args(args)
            .current_dir(&self.dir)
            .envs(self.env.iter().cloned());
        match pusher {
            Some(p) => cmd.env("PUSHGUARD_USER", p),
            None => cmd.env_remove("PUSHGUARD_USER"),
        };
        pushed(cmd.output().expect("git push"))
    }

    /// `git push` to a server that names the pusher itself: `env` is added (e.g.
    /// `GIT_SSH_COMMAND`, or the variables a server sets), `PUSHGUARD_USER` and proxy settings
    /// are removed (the pushes go to 127.0.0.1).
    pub fn push_env(&self, env: &[(&str, &str)], args: &[&str]) -> Pushed {
        let mut cmd = Command::new("git");
        cmd.arg("push")
            .args(args)
            .current_dir(&self.dir)
            .envs(self.env.iter().cloned())
            .env_remove("PUSHGUARD_USER")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("NO_PROXY", "127.0.0.1")
            .env("no_proxy", "127.0.0.1");
        for v in [
            "http_proxy",
            "https_proxy",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "all_proxy",
        ] {
            cmd.env_remove(v);
        }
        cmd.envs(env.iter().copied());
        pushed(cmd.output().expect("git push"))
    }

    pub fn push(&self, args: &[&str]) -> Pushed {
        self.push_as(Some("alice"), args)
    }
}

/// What a push printed, `remote: ` prefixes and trailing blanks removed.
fn pushed(out: Output) -> Pushed {
    let text = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| {
            l.strip_prefix("remote: ")
                .unwrap_or(l)
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    Pushed {
        ok: out.status.success(),
        text,
    }
}

/// Does `bare` have object `id`?
/// Write `text` to `path` in the client's work tree (making directories) and `git add` it.
pub fn write(c: &Client, path: &str, text: &str) {
    let p = c.dir.join(path);
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::write(p, text).expect("write");
    c.git(&["add", path]);
}

/// Commit what is staged, unsigned; the new commit's id.
pub fn commit(c: &Client, msg: &str) -> String {
    c.git(&["commit", "-q", "--no-gpg-sign", "-m", msg]);
    c.git(&["rev-parse", "HEAD"])
}

pub fn has_object(bare: &Path, id: &str) -> bool {
    Command::new("git")
        .args([
            "--git-dir",
            &bare.display().to_string(),
            "cat-file",
            "-e",
            id,
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

pub fn rev(bare: &Path, r: &str) -> Option<String> {
    let out = Command::new("git")
        .args([
            "--git-dir",
            &bare.display().to_string(),
            "rev-parse",
            "--verify",
            "-q",
            r,
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Reinstall `bare`'s hooks in per-ref mode (the update hook judges each ref, after git moved
/// the objects out of quarantine).
pub fn install_per_ref(w: &World, bare: &Path) {
    let out = Command::new(BIN)
        .args(["install", "--mode", "per-ref", "--socket"])
        .arg(w.path().join("pg.sock"))
        .arg(bare)
        .output()
        .expect("install");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run git in a bare repository (the server side), panicking on failure.
pub fn git_in(bare: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(bare)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A GitHub token with a valid checksum, different every run, made at test time.
pub fn github_token() -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7)
        ^ u64::from(std::process::id()).rotate_left(32);
    let body: String = (0..30)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            alphabet[(seed % alphabet.len() as u64) as usize] as char
        })
        .collect();
    secrets::validate::with_crc32_base62("ghp_", &body)
}

/// `pushguard doctor` for the daemon's world: (exit code, output; a failing check is a `FAIL`
/// line).
pub fn doctor(w: &World, d: &Daemon, policy: &Path) -> (i32, String) {
    let out = Command::new(BIN)
        .arg("doctor")
        .arg("--repos")
        .arg(w.path().join("repos"))
        .arg("--socket")
        .arg(&d.socket)
        .arg("--state-dir")
        .arg(&d.state)
        .arg("--policy")
        .arg(policy)
        .envs(w.env())
        .output()
        .expect("doctor");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// A new, empty bare repository at `path` (parents made).
pub fn init_bare(path: &Path) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    let ok = Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(path)
        .status()
        .expect("git init")
        .success();
    assert!(ok, "git init --bare {}", path.display());
}

impl Client {
    /// `git [-c config]... push args` as `pusher` (PUSHGUARD_USER), with git's output untouched:
    /// for whole-output comparisons (messages.rs), where `push_as` would fold it.
    pub fn push_raw(&self, pusher: Option<&str>, config: &[&str], args: &[&str]) -> Output {
        let mut cmd = Command::new("git");
        for c in config {
            cmd.args(["-c", c]);
        }
        cmd.arg("push")
            .args(args)
            .current_dir(&self.dir)
            .envs(self.env.iter().cloned());
        match pusher {
            Some(p) => cmd.env("PUSHGUARD_USER", p),
            None => cmd.env_remove("PUSHGUARD_USER"),
        };
        cmd.output().expect("git push")
    }
}

impl Client {
    /// Run `program` in this clone, in the test world's environment plus `env`.
    pub fn run(&self, program: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(program)
            .args(args)
            .current_dir(&self.dir)
            .envs(self.env.iter().cloned())
            .envs(env.iter().copied())
            .output()
            .expect("run a program in the clone")
    }
}
