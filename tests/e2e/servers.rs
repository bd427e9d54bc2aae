//! Real git servers in front of pushguard (issue 16): gitolite3 and plain git-shell behind a
//! real sshd, smart HTTP through nginx, fcgiwrap and `git http-backend`, and, for Gitea and
//! GitLab (which cannot run here), the hook layouts they use with stand-ins for their own
//! scripts. Each server names the pusher in its own variable; a push whose server named nobody
//! is rejected by every allow list, and the pusher is told which variable was expected.
//!
//! Every test starts its own servers on 127.0.0.1 (ports picked at run time) or on Unix sockets
//! in its world's temp dir, and stops them when it ends. The recipes (hook scripts,
//! `authorized_keys` lines, gitolite settings, the nginx server block) are read from
//! docs/operations.md, so the documented recipe is the tested one.

use crate::harness::{doctor, git_in, rev, Client, Daemon, Pushed, Sign, World, BIN};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HOOK_BIN: &str = env!("CARGO_BIN_EXE_pushguard-hook");

/// The rulesets of these tests: only maintainers (alice) move `main`; other branches are free.
fn server_policy(w: &World, pusher_env: Option<&str>) -> PathBuf {
    let pusher = pusher_env
        .map(|v| format!("pusher:\n  env: [{v}]\n"))
        .unwrap_or_default();
    let text = format!(
        r#"version: 1
identities:
  alice:
    emails: [alice@example.org]
    roles: [maintainer]
  bob:
    emails: [bob@example.org]
    roles: [developer]
{pusher}rulesets:
  - name: protect-main
    target: branch
    include: [main]
    rules:
      update:
        allow: [role:maintainer]
      non_fast_forward: {{}}
      deletion: {{}}
"#
    );
    let path = w.path().join("policy.yaml");
    fs::write(&path, text).expect("write policy");
    path
}

/// The `n`th fenced block under the `## {heading}` of docs/operations.md, with the documented
/// paths replaced by the world's.
fn recipe(w: &World, heading: &str, n: usize) -> String {
    let doc =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md"))
            .expect("docs/operations.md");
    let start = doc
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("docs/operations.md has no section {heading:?}"));
    let section = &doc[start + 1..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let block = section
        .split("```")
        .skip(1)
        .step_by(2)
        .nth(n)
        .unwrap_or_else(|| panic!("section {heading:?} has no code block {n}"));
    // Drop the info string (sh, nginx, perl) on the opening line.
    let body = block.split_once('\n').map_or("", |(_, b)| b);
    body.replace("/usr/local/bin/pushguard-hook", HOOK_BIN)
        .replace(
            "/var/lib/pushguard/pushguard.sock",
            &w.path().join("pg.sock").display().to_string(),
        )
        .replace("/srv/git", &w.path().join("repos").display().to_string())
}

fn write_executable(path: &Path, text: &str) {
    if let Some(d) = path.parent() {
        fs::create_dir_all(d).expect("mkdir");
    }
    fs::write(path, text).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Run a command to completion; panic with its output if it fails.
fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e} (scripts/install-deps.sh installs it)"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A free TCP port on 127.0.0.1: bound to port 0, read, released.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A server process in a process group of its own, so that stopping it also stops what it
/// forked (nginx's workers, fcgiwrap's children). Stopped when dropped.
struct Server {
    name: &'static str,
    child: Option<Child>,
    log: PathBuf,
}

impl Server {
    fn start(name: &'static str, mut cmd: Command, log: PathBuf) -> Server {
        let file = fs::File::create(&log).expect("log file");
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e} (scripts/install-deps.sh installs it)"));
        Server {
            name,
            child: Some(child),
            log,
        }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Wait until `ready` holds, or panic with the server's log.
    fn wait(&mut self, what: &str, ready: impl Fn() -> bool) {
        let start = Instant::now();
        while !ready() {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!("{} exited ({status}):\n{}", self.name, self.log_text());
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "{} not ready ({what}):\n{}",
                self.name,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_port(&mut self, port: u16) {
        self.wait(&format!("port {port}"), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = format!("-{}", child.id());
        let _ = Command::new("kill")
            .args(["-TERM", "--", &group])
            .stderr(Stdio::null())
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Whatever of the group is left (a worker slow to stop), and the leader if it hung.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A real sshd on a free loopback port, with a host key made for it, accepting the keys of
/// `authorized_keys` for the user running the tests (root in CI).
struct Sshd {
    server: Server,
    port: u16,
    user: String,
}

impl Sshd {
    fn start(w: &World, authorized_keys: &Path, extra_config: &str) -> Sshd {
        let dir = w.path().join("sshd");
        fs::create_dir_all(&dir).expect("mkdir");
        // sshd wants its privilege separation directory when it runs as root.
        let root = run(Command::new("id").arg("-u"), "id").trim() == "0";
        if root {
            fs::create_dir_all("/run/sshd").expect("mkdir /run/sshd");
        }
        let host_key = dir.join("host_ed25519");
        run(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&host_key),
            "ssh-keygen",
        );
        let port = free_port();
        let config = dir.join("sshd_config");
        fs::write(
            &config,
            format!(
                "ListenAddress 127.0.0.1:{port}\nHostKey {}\nPidFile none\nAuthorizedKeysFile {}\nStrictModes no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nLogLevel VERBOSE\n{extra_config}\n",
                host_key.display(),
                authorized_keys.display()
            ),
        )
        .expect("sshd_config");
        let mut cmd = Command::new("/usr/sbin/sshd");
        cmd.args(["-D", "-e", "-f"]).arg(&config);
        let mut server = Server::start("sshd", cmd, dir.join("sshd.log"));
        server.wait_port(port);
        Sshd {
            server,
            port,
            user: run(Command::new("id").arg("-un"), "id").trim().to_string(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("ssh://{}@127.0.0.1:{}/{path}", self.user, self.port)
    }

    /// `GIT_SSH_COMMAND` logging in with `key` (a private key file), trusting this server's
    /// throw-away host key, and passing `extra` options.
    fn ssh_command(&self, key: &Path, extra: &str) -> String {
        format!(
            "ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR -i {} -p {} {extra}",
            key.display(),
            self.port
        )
    }
}

/// A fresh unsigned commit by `who` in the client, ready to push; its id.
fn change(client: &Client, file: &str, who: &str) -> String {
    client.commit(file, &format!("{who}@example.org"), Sign::Unsigned)
}

/// What every server test shows first: alice (a maintainer) moves `main`; then bob (a
/// developer) is refused by the policy, with its message shown through the server, and `main`
/// stays at alice's commit. `push(name)` pushes `HEAD:main` as that user. Bob's push is returned
/// for what else a test checks in it; alice's commit is the second value.
fn alice_moves_main_bob_is_refused(
    client: &Client,
    bare: &Path,
    push: impl Fn(&str) -> Pushed,
) -> (Pushed, String) {
    let mine = change(client, "alice-main.txt", "alice");
    let p = push("alice");
    assert!(p.ok, "alice may move main:\n{}", p.text);
    assert_eq!(rev(bare, "main").as_deref(), Some(mine.as_str()));
    change(client, "bob-main.txt", "bob");
    let p = push("bob");
    assert_rejected(
        &p,
        "bob may not push to this branch: only role:maintainer may update it",
    );
    assert_eq!(rev(bare, "main").as_deref(), Some(mine.as_str()));
    (p, mine)
}

fn assert_rejected(p: &Pushed, phrase: &str) {
    assert!(!p.ok, "the push should have been rejected:\n{}", p.text);
    assert!(
        p.flat().contains(phrase),
        "the pusher should see {phrase:?}:\n{}",
        p.text
    );
}

/// gitolite3 set up for the world: its home is `gl/`, its repositories are the world's
/// `repos/` (where the daemon looks), alice and bob may write `app`, carol may only read it, and
/// pushguard runs from gitolite's repo-specific hooks as docs/operations.md says. bob may not
/// push tags (a gitolite ref rule, checked by gitolite's `update` hook).
fn gitolite(w: &World) -> PathBuf {
    gitolite_with(w, true)
}

/// `gitolite`, with pushguard in gitolite's repo-specific hooks or (`repo_specific` false) not:
/// then gitolite installs no `pre-receive` hook and the daemon installs its own.
fn gitolite_with(w: &World, repo_specific: bool) -> PathBuf {
    let home = w.path().join("gl");
    fs::create_dir_all(home.join("setup")).expect("mkdir");
    let gitolite = |args: &[&str]| {
        run(
            Command::new("gitolite")
                .args(args)
                .env("HOME", &home)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null"),
            &format!("gitolite {args:?}"),
        )
    };
    // The rc: gitolite's default, changed by the lines the docs give. (gitolite fails any
    // command, after doing it, when it has no log directory yet.)
    fs::create_dir_all(home.join(".gitolite/logs")).expect("mkdir");
    let mut rc = gitolite(&["print-default-rc"]);
    let rc_lines = recipe(w, "gitolite", 0);
    let mut lines = rc_lines.lines().map(str::trim);
    for (default, key) in [
        ("GIT_CONFIG_KEYS                 =>  '',", "GIT_CONFIG_KEYS"),
        (
            "# LOCAL_CODE                =>  \"$ENV{HOME}/local\",",
            "LOCAL_CODE",
        ),
        ("# 'repo-specific-hooks',", "'repo-specific-hooks'"),
    ] {
        let line = lines.next().expect("three rc lines in the docs");
        assert!(line.starts_with(key), "docs rc line {line:?}");
        if !repo_specific {
            continue;
        }
        assert!(
            rc.contains(default),
            "gitolite's default rc has {default:?}"
        );
        rc = rc.replacen(default, line, 1);
    }
    let repos = w.path().join("repos");
    assert!(
        rc.contains("%RC = ("),
        "gitolite's rc starts its settings with %RC = ("
    );
    rc = rc.replacen(
        "%RC = (",
        &format!("%RC = (\n    GL_REPO_BASE => '{}',", repos.display()),
        1,
    );
    fs::write(home.join(".gitolite.rc"), rc).expect("rc");
    write_executable(
        &home.join("local/hooks/repo-specific/pushguard"),
        &recipe(w, "gitolite", 1),
    );
    fs::copy(w.key("alice.pub"), home.join("setup/alice.pub")).expect("key");
    gitolite(&[
        "setup",
        "-pk",
        &home.join("setup/alice.pub").display().to_string(),
    ]);
    let admin = home.join(".gitolite");
    for who in ["bob", "carol"] {
        fs::copy(
            w.key(&format!("{who}.pub")),
            admin.join(format!("keydir/{who}.pub")),
        )
        .expect("key");
    }
    fs::write(
        admin.join("conf/gitolite.conf"),
        format!(
            "repo gitolite-admin\n    RW+ = alice\n\nrepo app\n    -   refs/tags/ = bob\n    RW+ = alice bob\n    R   = carol\n\n{}",
            if repo_specific {
                recipe(w, "gitolite", 2)
            } else {
                String::new()
            }
        ),
    )
    .expect("gitolite.conf");
    gitolite(&["setup"]);
    home
}

/// gitolite names the pusher in GL_USER: alice (a maintainer) moves `main`; bob, whom gitolite
/// lets write, is rejected by the policy with pushguard's message relayed through gitolite's
/// hook driver; carol, whom gitolite only lets read, is refused by gitolite before pushguard is
/// asked.
#[test]
fn gitolite_names_the_pusher_and_keeps_its_own_access_rules() {
    let w = World::new();
    let (bare, client) = w.seed("app", "sha1");
    let policy = server_policy(&w, Some("GL_USER"));
    let home = gitolite(&w);
    let hook = fs::read_link(bare.join("hooks/pre-receive")).expect("gitolite's hook driver");
    let d = Daemon::start(&w, Some(&policy), &[]);
    let sshd = Sshd::start(
        &w,
        &home.join(".ssh/authorized_keys"),
        &format!("SetEnv HOME={}", home.display()),
    );
    let url = sshd.url("app");
    let as_user = |who: &str| sshd.ssh_command(&w.key(who), "");

    let (p, _) = alice_moves_main_bob_is_refused(&client, &bare, |who| {
        client.push_env(&[("GIT_SSH_COMMAND", &as_user(who))], &[&url, "HEAD:main"])
    });
    assert!(p.text.contains("pre-receive hook declined"), "{}", p.text);
    let last = d.audit().last().cloned().expect("an audit line");
    assert_eq!(last["pusher"], "bob", "the pusher is gitolite's GL_USER");

    // With a push option: the recipe lets gitolite advertise them (audited secret bypasses
    // are push options).
    let p = client.push_env(
        &[("GIT_SSH_COMMAND", &as_user("bob"))],
        &[&url, "-o", "note=from-bob", "HEAD:refs/heads/bob/topic"],
    );
    assert!(p.ok, "bob may push a branch of his own:\n{}", p.text);

    // gitolite's update hook still runs after pushguard's pre-receive: pushguard lets bob's tag
    // through (no ruleset for tags), gitolite's ref rule does not.
    client.git(&["tag", "v1"]);
    let judged = d.audit().len();
    let p = client.push_env(
        &[("GIT_SSH_COMMAND", &as_user("bob"))],
        &[&url, "refs/tags/v1"],
    );
    assert_rejected(&p, "W refs/tags/v1 app bob DENIED by refs/tags/");
    assert_eq!(
        d.audit().len(),
        judged + 1,
        "pushguard judged the tag first"
    );
    assert_eq!(d.audit().last().expect("audit")["verdict"], "allowed");
    assert_eq!(rev(&bare, "refs/tags/v1"), None);

    let judged = d.audit().len();
    let p = client.push_env(
        &[("GIT_SSH_COMMAND", &as_user("carol"))],
        &[&url, "HEAD:refs/heads/carol/topic"],
    );
    assert_rejected(&p, "W any app carol DENIED by fallthru");
    assert_eq!(
        d.audit().len(),
        judged,
        "gitolite refused carol before any hook ran"
    );
    assert_eq!(rev(&bare, "refs/heads/carol/topic"), None);

    // The hook gitolite installed is still gitolite's: the daemon did not replace it, and
    // `install --chain` refuses to (renamed, gitolite's driver would run none of its hooks).
    let out = Command::new(BIN)
        .args(["install", "--chain", "--socket"])
        .arg(&d.socket)
        .arg(&bare)
        .output()
        .expect("pushguard install");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("by its own name"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read_link(bare.join("hooks/pre-receive")).expect("still a link"),
        hook
    );
    let (_, text) = doctor(&w, &d, &policy);
    assert!(
        text.contains("pre-receive is the git server's hook dispatcher; it runs pushguard from"),
        "{text}"
    );
    drop(sshd);
}

/// gitolite without repo-specific hooks: gitolite puts only its `update` hook in, the daemon
/// adds its own `pre-receive`, and GL_USER still names the pusher.
#[test]
fn gitolite_with_the_daemons_own_hook() {
    let w = World::new();
    let (bare, client) = w.seed("app", "sha1");
    let policy = server_policy(&w, Some("GL_USER"));
    let home = gitolite_with(&w, false);
    assert!(
        !bare.join("hooks/pre-receive").exists(),
        "gitolite installs no pre-receive hook"
    );
    let _d = Daemon::start(&w, Some(&policy), &[&bare]);
    let sshd = Sshd::start(
        &w,
        &home.join(".ssh/authorized_keys"),
        &format!("SetEnv HOME={}", home.display()),
    );
    let url = sshd.url("app");
    let as_user = |who: &str| sshd.ssh_command(&w.key(who), "");

    alice_moves_main_bob_is_refused(&client, &bare, |who| {
        client.push_env(&[("GIT_SSH_COMMAND", &as_user(who))], &[&url, "HEAD:main"])
    });
    assert!(
        fs::symlink_metadata(bare.join("hooks/update"))
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false),
        "gitolite's update hook is still there"
    );
}

/// Plain ssh with git-shell: the pusher is named per key in `authorized_keys`, by
/// `environment=` or in a `command=`. A key that names nobody, or names the empty string, pushes
/// as an unidentified pusher; so does a client that sends the variable itself.
#[test]
fn git_shell_names_the_pusher_per_key() {
    let w = World::new();
    let (bare, client) = w.seed("app", "sha1");
    let policy = server_policy(&w, Some("PUSHGUARD_USER"));
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    run(
        Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "dave@test-only",
                "-f",
            ])
            .arg(w.key("dave")),
        "ssh-keygen",
    );
    let mut keys = recipe(&w, "Plain ssh server", 1)
        .replace("ssh-ed25519 AAAA... alice@laptop", &w.ssh_public("alice"))
        .replace("ssh-ed25519 AAAA... bob@laptop", &w.ssh_public("bob"));
    assert!(keys.contains(&w.ssh_public("alice")) && keys.contains(&w.ssh_public("bob")));
    // carol's key names nobody; dave's names the empty string.
    keys.push_str(&format!(
        "command=\"git-shell -c \\\"$SSH_ORIGINAL_COMMAND\\\"\",no-pty {}\nenvironment=\"PUSHGUARD_USER=\",command=\"git-shell -c \\\"$SSH_ORIGINAL_COMMAND\\\"\",no-pty {}\n",
        w.ssh_public("carol"),
        w.ssh_public("dave")
    ));
    let authorized = w.path().join("authorized_keys");
    fs::write(&authorized, keys).expect("authorized_keys");
    let sshd = Sshd::start(&w, &authorized, &recipe(&w, "Plain ssh server", 2));
    // ssh://host/abs/path: git-shell is asked for /abs/path.
    let url = sshd.url(bare.display().to_string().trim_start_matches('/'));
    let as_user = |who: &str, extra: &str| sshd.ssh_command(&w.key(who), extra);

    let mine = change(&client, "a.txt", "alice");
    let p = client.push_env(
        &[("GIT_SSH_COMMAND", &as_user("alice", ""))],
        &[&url, "HEAD:main"],
    );
    assert!(p.ok, "alice (environment=) may move main:\n{}", p.text);
    assert_eq!(rev(&bare, "main").as_deref(), Some(mine.as_str()));

    change(&client, "b.txt", "bob");
    let p = client.push_env(
        &[("GIT_SSH_COMMAND", &as_user("bob", ""))],
        &[&url, "HEAD:main"],
    );
    assert_rejected(
        &p,
        "bob may not push to this branch: only role:maintainer may update it",
    );
    assert_eq!(d.audit().last().expect("audit")["pusher"], "bob");

    let unidentified = "an unidentified pusher (expected the server to set PUSHGUARD_USER) may not push to this branch";
    let p = client.push_env(
        &[("GIT_SSH_COMMAND", &as_user("carol", ""))],
        &[&url, "HEAD:main"],
    );
    assert_rejected(&p, unidentified);
    // sshd does not take the variable from the client (AcceptEnv LANG LC_*).
    let p = client.push_env(
        &[(
            "GIT_SSH_COMMAND",
            &as_user("carol", "-o SetEnv=PUSHGUARD_USER=alice"),
        )],
        &[&url, "HEAD:main"],
    );
    assert_rejected(&p, unidentified);
    let p = client.push_env(
        &[("GIT_SSH_COMMAND", &as_user("dave", ""))],
        &[&url, "HEAD:main"],
    );
    assert_rejected(&p, unidentified);
    assert_eq!(rev(&bare, "main").as_deref(), Some(mine.as_str()));
    assert!(
        sshd.server.log_text().contains("Accepted publickey"),
        "the pushes went through sshd:\n{}",
        sshd.server.log_text()
    );
}

/// Without `PermitUserEnvironment`, sshd drops `environment=` without a word: the pusher is
/// unidentified and the push is rejected (fail closed), naming the variable expected.
#[test]
fn git_shell_without_permit_user_environment_names_nobody() {
    let w = World::new();
    let (bare, client) = w.seed("app", "sha1");
    let policy = server_policy(&w, Some("PUSHGUARD_USER"));
    let _d = Daemon::start(&w, Some(&policy), &[&bare]);
    let keys = recipe(&w, "Plain ssh server", 1)
        .replace("ssh-ed25519 AAAA... alice@laptop", &w.ssh_public("alice"));
    let authorized = w.path().join("authorized_keys");
    fs::write(&authorized, keys).expect("authorized_keys");
    let sshd = Sshd::start(&w, &authorized, "");
    let url = sshd.url(bare.display().to_string().trim_start_matches('/'));
    change(&client, "a.txt", "alice");
    let p = client.push_env(
        &[("GIT_SSH_COMMAND", &sshd.ssh_command(&w.key("alice"), ""))],
        &[&url, "HEAD:main"],
    );
    assert_rejected(
        &p,
        "an unidentified pusher (expected the server to set PUSHGUARD_USER) may not push to this branch",
    );
}

/// nginx + fcgiwrap + git http-backend on a free port, serving the world's `repos/` with the
/// server block of docs/operations.md (basic auth, `REMOTE_USER`), and the same without
/// authentication on a second port.
struct Http {
    _fcgiwrap: Server,
    nginx: Server,
    port: u16,
    anonymous_port: u16,
}

impl Http {
    fn start(w: &World, users: &[(&str, &str)]) -> Http {
        Self::start_as(w, users, None)
    }

    /// `start`, with fcgiwrap (so git and the hooks) running as `uid` (needs root).
    fn start_as(w: &World, users: &[(&str, &str)], uid: Option<u32>) -> Http {
        let dir = w.path().join("http");
        fs::create_dir_all(&dir).expect("mkdir");
        let socket = dir.join("fcgiwrap.sock");
        let mut fcgi = match uid {
            Some(uid) => {
                run(
                    Command::new("chown").arg(uid.to_string()).arg(&dir),
                    "chown",
                );
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={uid}"))
                    .args(["--clear-groups", "/usr/sbin/fcgiwrap"]);
                c
            }
            None => Command::new("/usr/sbin/fcgiwrap"),
        };
        fcgi.args(["-c", "2", "-s"])
            .arg(format!("unix:{}", socket.display()))
            // fcgiwrap hands its environment on to git and the hooks: keep it clean.
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin");
        // (Debian's paths: sbin is not on every user's PATH.)
        let mut fcgiwrap = Server::start("fcgiwrap", fcgi, dir.join("fcgiwrap.log"));
        fcgiwrap.wait("its socket", || socket.exists());
        let mut htpasswd = String::new();
        for (user, password) in users {
            let hash = run(
                Command::new("openssl").args(["passwd", "-apr1", password]),
                "openssl passwd",
            );
            htpasswd.push_str(&format!("{user}:{}\n", hash.trim()));
        }
        fs::write(dir.join("git.htpasswd"), htpasswd).expect("htpasswd");
        let port = free_port();
        let anonymous_port = free_port();
        let server = recipe(w, "Smart HTTP (git http-backend)", 0)
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace(
                "include fastcgi_params;",
                "include /etc/nginx/fastcgi_params;",
            )
            .replace(
                "/etc/nginx/git.htpasswd",
                &dir.join("git.htpasswd").display().to_string(),
            )
            .replace("/run/fcgiwrap.socket", &socket.display().to_string());
        assert!(
            server.contains(&format!("listen 127.0.0.1:{port};")),
            "{server}"
        );
        let anonymous = server
            .replace(
                &format!("listen 127.0.0.1:{port};"),
                &format!("listen 127.0.0.1:{anonymous_port};"),
            )
            .replace("auth_basic \"git\";", "")
            .replace("auth_basic_user_file", "# auth_basic_user_file");
        let d = dir.display();
        let conf = format!(
            "# As root, nginx would run its workers as nobody, who cannot reach fcgiwrap's socket.\nuser root;\ndaemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\nevents {{ worker_connections 64; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  fastcgi_temp_path {d}/fastcgi;\n  proxy_temp_path {d}/proxy;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{server}\n{anonymous}\n}}\n"
        );
        let conf_path = dir.join("nginx.conf");
        fs::write(&conf_path, conf).expect("nginx.conf");
        let mut cmd = Command::new("/usr/sbin/nginx");
        cmd.arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("early.log"));
        let mut nginx = Server::start("nginx", cmd, dir.join("nginx.log"));
        nginx.wait_port(port);
        nginx.wait_port(anonymous_port);
        Http {
            _fcgiwrap: fcgiwrap,
            nginx,
            port,
            anonymous_port,
        }
    }

    fn url(&self, user: &str, password: &str, path: &str) -> String {
        format!("http://{user}:{password}@127.0.0.1:{}/{path}", self.port)
    }
}

/// Smart HTTP: nginx authenticates, git http-backend runs the push with `REMOTE_USER`, and the
/// client shows pushguard's verdict. An anonymous push (allowed by `http.receivepack`) has no
/// pusher and is rejected, naming REMOTE_USER.
#[test]
fn smart_http_names_the_pusher_by_remote_user() {
    let w = World::new();
    let (bare, client) = w.seed("app", "sha1");
    let policy = server_policy(&w, Some("REMOTE_USER"));
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    let http = Http::start(&w, &[("alice", "alice-pw"), ("bob", "bob-pw")]);

    let mine = change(&client, "a.txt", "alice");
    let p = client.push_env(
        &[],
        &[&http.url("alice", "alice-pw", "app.git"), "HEAD:main"],
    );
    assert!(
        p.ok,
        "alice may move main:\n{}\n{}",
        p.text,
        http.nginx.log_text()
    );
    assert_eq!(rev(&bare, "main").as_deref(), Some(mine.as_str()));

    change(&client, "b.txt", "bob");
    let p = client.push_env(&[], &[&http.url("bob", "bob-pw", "app.git"), "HEAD:main"]);
    assert_rejected(
        &p,
        "bob may not push to this branch: only role:maintainer may update it",
    );
    assert!(p.text.contains("pre-receive hook declined"), "{}", p.text);
    assert_eq!(d.audit().last().expect("audit")["pusher"], "bob");

    let p = client.push_env(&[], &[&http.url("bob", "wrong", "app.git"), "HEAD:main"]);
    assert!(!p.ok, "a wrong password is refused by nginx:\n{}", p.text);

    // Anonymous: git refuses unless the repository allows it; then pushguard does.
    let anon = format!("http://127.0.0.1:{}/app.git", http.anonymous_port);
    let p = client.push_env(&[], &[&anon, "HEAD:main"]);
    assert!(
        !p.ok,
        "git refuses anonymous pushes by default:\n{}",
        p.text
    );
    git_in(&bare, &["config", "http.receivepack", "true"]);
    let p = client.push_env(&[], &[&anon, "HEAD:main"]);
    assert_rejected(
        &p,
        "an unidentified pusher (expected the server to set REMOTE_USER) may not push to this branch",
    );
    // docs/operations.md shows this very message.
    let shown = recipe(&w, "The pusher's name", 0);
    assert!(
        p.text.contains(shown.trim_end()),
        "docs/operations.md shows:\n{shown}\nthe pusher saw:\n{}",
        p.text
    );
    let p = client.push_env(&[], &[&anon, "HEAD:refs/heads/anonymous"]);
    assert!(p.ok, "no allow list on other branches:\n{}", p.text);
    assert_eq!(rev(&bare, "main").as_deref(), Some(mine.as_str()));

    // nginx's $remote_user is the name in the request's Authorization header, checked only where
    // auth_basic is on, and Debian's fastcgi_params passes it as REMOTE_USER everywhere. A forged
    // header is refused by the recipe's server, and names the pusher at a location without
    // authentication: hence the docs' warning never to route git-receive-pack to one.
    let forged = [
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", "http.extraHeader"),
        // alice:not-her-password
        (
            "GIT_CONFIG_VALUE_0",
            "Authorization: Basic YWxpY2U6bm90LWhlci1wYXNzd29yZA==",
        ),
    ];
    let plain = format!("http://127.0.0.1:{}/app.git", http.port);
    let p = client.push_env(&forged, &[&plain, "HEAD:main"]);
    assert!(
        !p.ok,
        "a forged header is checked by auth_basic:\n{}",
        p.text
    );
    assert!(
        p.text.contains("could not read Username"),
        "refused by nginx (401, git asks for a name), not by the policy:\n{}",
        p.text
    );
    assert_eq!(rev(&bare, "main").as_deref(), Some(mine.as_str()));
    // (git http-backend takes a REMOTE_USER as authentication: no http.receivepack needed.)
    git_in(&bare, &["config", "--unset", "http.receivepack"]);
    let p = client.push_env(&forged, &[&anon, "HEAD:main"]);
    assert!(
        p.ok,
        "without auth_basic, nginx passes the forged name:\n{}",
        p.text
    );
    assert_eq!(d.audit().last().expect("audit")["pusher"], "alice");
}

/// Smart HTTP as Debian deploys it: fcgiwrap, so git and the hooks, run as www-data while the
/// daemon runs as another user (here root). The default `0600` socket keeps www-data's hook out
/// (the push fails closed); a socket it may open is not enough either, the daemon refuses a uid
/// it was not given; with `--socket-mode 666 --allow-uid 33` pushes are judged.
#[test]
fn smart_http_as_www_data_needs_the_socket_opened_to_it() {
    if run(Command::new("id").arg("-u"), "id").trim() != "0" {
        eprintln!("skipped: needs root to run fcgiwrap as www-data");
        return;
    }
    let www = run(Command::new("id").args(["-u", "www-data"]), "id www-data")
        .trim()
        .to_string();
    let w = World::new();
    let (bare, client) = w.seed("app", "sha1");
    let policy = server_policy(&w, Some("REMOTE_USER"));
    // www-data reaches the repositories (and the socket) and owns the repositories.
    fs::set_permissions(w.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    run(
        Command::new("chown")
            .args(["-R", &format!("{www}:{www}")])
            .arg(w.path().join("repos")),
        "chown",
    );
    let uid: u32 = www.parse().expect("a uid");
    // The binaries where www-data can run them (a build under /root is out of its reach).
    let bin = w.path().join("bin");
    fs::create_dir_all(&bin).expect("mkdir");
    for b in [BIN, HOOK_BIN] {
        let to = bin.join(Path::new(b).file_name().expect("a file name"));
        fs::copy(b, &to).expect("copy binary");
    }
    let bin = bin.join("pushguard");
    let http = Http::start_as(&w, &[("alice", "alice-pw"), ("bob", "bob-pw")], Some(uid));
    let url = |who: &str| http.url(who, &format!("{who}-pw"), "app.git");
    let mine = change(&client, "a.txt", "alice");

    let d = Daemon::start_with(&w, &bin, Some(&policy), &[&bare], &[]);
    let hook = fs::read_to_string(bare.join("hooks/pre-receive")).expect("hook");
    assert!(
        hook.contains(&w.path().join("bin/pushguard-hook").display().to_string()),
        "{hook}"
    );
    let p = client.push_env(&[], &[&url("alice"), "HEAD:main"]);
    assert_rejected(&p, "the policy daemon is not reachable at");
    assert_rejected(&p, "Permission denied");
    drop(d);

    let d = Daemon::start_with(&w, &bin, Some(&policy), &[&bare], &["--socket-mode", "666"]);
    let p = client.push_env(&[], &[&url("alice"), "HEAD:main"]);
    assert_rejected(&p, &format!("uid {www} may not use this pushguard daemon"));
    assert!(
        d.log_text().contains(&format!("uid={www}")),
        "{}",
        d.log_text()
    );
    drop(d);

    let d = Daemon::start_with(
        &w,
        &bin,
        Some(&policy),
        &[&bare],
        &["--socket-mode", "666", "--allow-uid", &www],
    );
    let p = client.push_env(&[], &[&url("alice"), "HEAD:main"]);
    assert!(p.ok, "alice may move main:\n{}\n{}", p.text, d.log_text());
    assert_eq!(rev(&bare, "main").as_deref(), Some(mine.as_str()));
    change(&client, "b.txt", "bob");
    let p = client.push_env(&[], &[&url("bob"), "HEAD:main"]);
    assert_rejected(
        &p,
        "bob may not push to this branch: only role:maintainer may update it",
    );
}

/// What Gitea writes as every repository's `hooks/pre-receive` (modules/repository/hooks.go):
/// it runs each executable in `hooks/pre-receive.d/` with the same input and fails if any did.
const GITEA_PRE_RECEIVE: &str = r#"#!/usr/bin/env bash
# AUTO GENERATED BY GITEA, DO NOT MODIFY
data=$(cat)
exitcodes=""
hookname=$(basename $0)
GIT_DIR=${GIT_DIR:-$(dirname $0)/..}

for hook in ${GIT_DIR}/hooks/${hookname}.d/*; do
  test -x "${hook}" && test -f "${hook}" || continue
  echo "${data}" | "${hook}"
  exitcodes="${exitcodes} $?"
done

for i in ${exitcodes}; do
  [ ${i} -eq 0 ] || exit ${i}
done
"#;

/// Gitea: its `pre-receive` runs `pre-receive.d/gitea` (a stand-in for `gitea hook
/// pre-receive`, which records that it ran) and pushguard's script from the docs. The daemon
/// leaves Gitea's hook alone. GITEA_PUSHER_NAME names the pusher; empty, it names nobody.
#[test]
fn gitea_pre_receive_d_runs_pushguard() {
    let w = World::new();
    let (bare, client) = w.seed("app", "sha1");
    let policy = server_policy(&w, Some("GITEA_PUSHER_NAME"));
    let ran = w.path().join("gitea-hook-ran");
    write_executable(&bare.join("hooks/pre-receive"), GITEA_PRE_RECEIVE);
    write_executable(
        &bare.join("hooks/pre-receive.d/gitea"),
        &format!(
            "#!/bin/sh\n# stand-in for: gitea hook --config=/etc/gitea/app.ini pre-receive\ncat >/dev/null\necho \"$GITEA_PUSHER_NAME\" >> '{}'\n",
            ran.display()
        ),
    );
    write_executable(
        &bare.join("hooks/pre-receive.d/pushguard"),
        &recipe(&w, "Gitea / Forgejo", 0),
    );
    let config = recipe(&w, "Gitea / Forgejo", 1).replace("owner/repo.git", "app.git");
    let bare_path = bare.display().to_string();
    for line in config.lines() {
        let args: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(args[..3], ["git", "-C", bare_path.as_str()], "{config}");
        git_in(&bare, &args[3..]);
    }
    let d = Daemon::start(&w, Some(&policy), &[]);
    let start = Instant::now();
    while !d.log_text().contains("by its own name") {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{}",
            d.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        fs::read_to_string(bare.join("hooks/pre-receive")).expect("hook"),
        GITEA_PRE_RECEIVE,
        "the daemon leaves Gitea's hook alone"
    );

    let as_pusher = |name: &str| {
        [
            ("GITEA_PUSHER_NAME", name.to_string()),
            ("GITEA_PUSHER_ID", "2".to_string()),
            ("GITEA_REPO_NAME", "app".to_string()),
        ]
    };
    // With a push option, as audited secret bypasses are sent.
    let push = |name: &str, refspec: &str| {
        let env = as_pusher(name);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        client.push_env(&env, &["-o", "note=via-gitea", "origin", refspec])
    };
    let (_, mine) = alice_moves_main_bob_is_refused(&client, &bare, |who| push(who, "HEAD:main"));
    assert_rejected(
        &push("", "HEAD:main"),
        "an unidentified pusher (expected the server to set GITEA_PUSHER_NAME) may not push to this branch",
    );
    assert_eq!(rev(&bare, "main").as_deref(), Some(mine.as_str()));
    assert_eq!(
        fs::read_to_string(&ran).expect("Gitea's own hook ran"),
        "alice\nbob\n\n",
        "Gitea's hook ran for every push"
    );
    // Regression: `pushguard doctor` took Gitea's hook for a foreign one ("pushes are not
    // judged") and advised --chain.
    let (_, text) = doctor(&w, &d, &policy);
    assert!(
        text.contains("pre-receive is the git server's hook dispatcher; it runs pushguard from"),
        "{text}"
    );
    assert!(!text.contains("FAIL"), "{text}");
}

/// Regression (issue 16): `install --chain` (and `serve --chain`) kept a foreign hook by
/// renaming it to `pre-receive.pushguard-chained`. Gitea's hook looks for its scripts in
/// `hooks/$(basename $0).d/`, so renamed it ran none of them and exited 0: Gitea's own checks
/// (its `gitea` hook: permissions, protected branches) silently stopped. gitolite's multi-hook
/// driver (`$0.*`) had the same fate. pushguard now refuses to chain a hook that finds its work
/// by its own name, and leaves it as it was.
#[test]
fn chaining_refuses_gitea_hook_that_runs_by_its_own_name() {
    let w = World::new();
    let (bare, client) = w.seed("app", "sha1");
    write_executable(&bare.join("hooks/pre-receive"), GITEA_PRE_RECEIVE);
    write_executable(
        &bare.join("hooks/pre-receive.d/gitea"),
        "#!/bin/sh\n# stand-in for Gitea's protected branch check\ncat >/dev/null\necho 'Gitea: branch main is protected' >&2\nexit 1\n",
    );
    let out = Command::new(BIN)
        .args(["install", "--chain", "--socket"])
        .arg(w.path().join("pg.sock"))
        .arg(&bare)
        .output()
        .expect("pushguard install");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "chaining must be refused:\n{err}");
    assert!(err.contains("by its own name"), "{err}");
    assert_eq!(
        fs::read_to_string(bare.join("hooks/pre-receive")).expect("hook"),
        GITEA_PRE_RECEIVE,
        "Gitea's hook is left in place"
    );
    assert!(!bare.join("hooks/pre-receive.pushguard-chained").exists());
    change(&client, "a.txt", "alice");
    let p = client.push_env(&[], &["origin", "HEAD:main"]);
    assert_rejected(&p, "Gitea: branch main is protected");
    // And doctor says what is missing: pushguard among the scripts Gitea's hook runs.
    let policy = server_policy(&w, Some("GITEA_PUSHER_NAME"));
    let d = Daemon::start(&w, Some(&policy), &[]);
    let (_, text) = doctor(&w, &d, &policy);
    assert!(
        text.contains(
            "is the git server's hook dispatcher and none of the scripts it runs is pushguard's"
        ),
        "{text}"
    );
}

/// Gitaly runs git with `-c core.hooksPath=<its hooks>`; its `pre-receive` runs the
/// repository's `custom_hooks/pre-receive`, then each executable of `custom_hooks/pre-receive.d/`
/// in order (skipping editor backups ending in `~`), stopping at the first failure. A stand-in
/// with that order.
const GITALY_PRE_RECEIVE: &str = r#"#!/bin/sh
# stand-in for gitaly-hooks pre-receive: the repository's custom_hooks, in Gitaly's order
data=$(cat)
for hook in custom_hooks/pre-receive custom_hooks/pre-receive.d/*; do
  case "$hook" in *~) continue ;; esac
  test -f "$hook" && test -x "$hook" || continue
  printf '%s\n' "$data" | "$hook" || exit 1
done
"#;

/// GitLab: a hook written into the repository's `hooks/` never runs under Gitaly (its
/// `core.hooksPath` is given on the command line), so `serve` alone guards nothing; the docs'
/// script in `custom_hooks/pre-receive.d/` does. GL_USERNAME names the pusher; this policy
/// has no `pusher.env`, so an empty one is reported with the whole default list.
#[test]
fn gitlab_custom_hooks_run_pushguard() {
    let w = World::new();
    let (bare, client) = w.seed("app", "sha1");
    let policy = server_policy(&w, None);
    let d = Daemon::start(&w, Some(&policy), &[&bare]);
    let gitaly_hooks = w.path().join("gitaly-hooks");
    write_executable(&gitaly_hooks.join("pre-receive"), GITALY_PRE_RECEIVE);
    let receive_pack = format!(
        "--receive-pack=git -c core.hooksPath={} receive-pack",
        gitaly_hooks.display()
    );
    let push = |user: &str, refspec: &str| {
        client.push_env(
            &[
                ("GL_USERNAME", user),
                ("GL_ID", "user-2"),
                ("GL_PROTOCOL", "ssh"),
                ("GL_REPOSITORY", "project-1"),
            ],
            &[&receive_pack, "origin", refspec],
        )
    };

    change(&client, "a.txt", "bob");
    let p = push("bob", "HEAD:main");
    assert!(
        p.ok,
        "pushguard's own hooks/pre-receive is not run under Gitaly:\n{}",
        p.text
    );
    assert!(d.audit().is_empty(), "nobody asked the daemon");

    write_executable(
        &bare.join("custom_hooks/pre-receive.d/pushguard"),
        &recipe(&w, "GitLab (self-managed) server hooks", 0),
    );
    let (_, mine) = alice_moves_main_bob_is_refused(&client, &bare, |who| push(who, "HEAD:main"));
    assert_rejected(
        &push("", "HEAD:main"),
        "an unidentified pusher (expected the server to set one of PUSHGUARD_USER, GL_USERNAME, GL_USER, GITEA_PUSHER_NAME, REMOTE_USER) may not push to this branch",
    );
    assert_eq!(rev(&bare, "main").as_deref(), Some(mine.as_str()));
    assert_eq!(
        d.audit().last().expect("audit")["pusher"],
        serde_json::Value::Null
    );
}
