//! Helpers: real `ssh-keygen` and `gpg` in throwaway directories, and a commit-like payload.
//!
//! Every key made here is test-only and lives in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// A payload shaped like a commit's signed bytes.
pub const PAYLOAD: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author Alice <alice@example.com> 1790000000 +0000\n\
committer Alice <alice@example.com> 1790000000 +0000\n\
\n\
Add the thing\n";

/// The same payload with one byte changed.
pub fn tampered() -> Vec<u8> {
    let mut p = PAYLOAD.to_vec();
    let at = p.len() - 2;
    p[at] ^= 0x20;
    p
}

/// Current Unix time; keys made by gpg are dated now, so tests verify at now (+ a little).
pub fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    i64::try_from(secs).expect("fits")
}

pub const DAY: i64 = 86_400;

/// Fails the test (never skips) when a tool is missing, naming the Debian package.
pub fn require(tool: &str, package: &str) {
    let found = Command::new(tool)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(
        found,
        "`{tool}` is not installed; these tests need real tools: apt-get install {package}"
    );
}

fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// An SSH key pair made by `ssh-keygen` in a temporary directory.
pub struct SshKey {
    _dir: tempfile::TempDir,
    pub private: PathBuf,
    /// The `.pub` line, e.g. `ssh-ed25519 AAAA… test`.
    pub public: String,
}

impl SshKey {
    /// `kind` and `bits` as for `ssh-keygen -t kind -b bits`.
    pub fn generate(kind: &str, bits: Option<u32>) -> SshKey {
        require("ssh-keygen", "openssh-client");
        let dir = tempfile::tempdir().expect("temp dir");
        let private = dir.path().join("key");
        let mut cmd = Command::new("ssh-keygen");
        cmd.args(["-q", "-t", kind, "-N", "", "-C", "test-only"]);
        if let Some(bits) = bits {
            cmd.args(["-b", &bits.to_string()]);
        }
        cmd.arg("-f").arg(&private);
        run(&mut cmd, "ssh-keygen -t");
        let public = std::fs::read_to_string(private.with_extension("pub"))
            .expect("public key written")
            .trim()
            .to_owned();
        SshKey {
            _dir: dir,
            private,
            public,
        }
    }

    /// `ssh-keygen -Y sign -n namespace` over `data`; returns the armored signature.
    pub fn sign(&self, namespace: &str, data: &[u8]) -> Vec<u8> {
        self.sign_opts(namespace, data, &[])
    }

    /// Same with extra options, e.g. `["-O", "hashalg=sha256"]`.
    pub fn sign_opts(&self, namespace: &str, data: &[u8], extra: &[&str]) -> Vec<u8> {
        let dir = self.private.parent().expect("key has a directory");
        let file = dir.join("payload");
        std::fs::write(&file, data).expect("write payload");
        let sig = dir.join("payload.sig");
        let _ = std::fs::remove_file(&sig);
        run(
            Command::new("ssh-keygen")
                .args(["-Y", "sign", "-n", namespace])
                .args(extra)
                .arg("-f")
                .arg(&self.private)
                .arg(&file),
            "ssh-keygen -Y sign",
        );
        std::fs::read(&sig).expect("signature written")
    }

    /// Has `ca` certify this key for `principal` (`ssh-keygen -s`), then signs `data` with the
    /// certificate (`ssh-keygen -Y sign -f key-cert.pub`).
    pub fn sign_with_certificate(&self, ca: &SshKey, principal: &str, data: &[u8]) -> Vec<u8> {
        self.certify(ca, principal, &[]);
        self.sign_with_cert("git", data)
    }

    /// `ssh-keygen -s ca -I test-only -n principals [extra]` on this key (writes key-cert.pub).
    pub fn certify(&self, ca: &SshKey, principals: &str, extra: &[&str]) {
        let public = self.private.with_extension("pub");
        run(
            Command::new("ssh-keygen")
                .args(["-q", "-s"])
                .arg(&ca.private)
                .args(["-I", "test-only", "-n", principals])
                .args(extra)
                .arg(&public),
            "ssh-keygen -s",
        );
    }

    /// Signs `data` in `namespace` with the certificate made by [`SshKey::certify`].
    pub fn sign_with_cert(&self, namespace: &str, data: &[u8]) -> Vec<u8> {
        let dir = self.private.parent().expect("key has a directory");
        let file = dir.join("payload");
        std::fs::write(&file, data).expect("write payload");
        let _ = std::fs::remove_file(dir.join("payload.sig"));
        run(
            Command::new("ssh-keygen")
                .args(["-Y", "sign", "-n", namespace, "-f"])
                .arg(dir.join("key-cert.pub"))
                .arg(&file),
            "ssh-keygen -Y sign with a certificate",
        );
        std::fs::read(dir.join("payload.sig")).expect("signature written")
    }

    /// `ssh-keygen -l` fingerprint, e.g. `SHA256:…`.
    pub fn fingerprint(&self) -> String {
        let out = run(
            Command::new("ssh-keygen")
                .args(["-l", "-E", "sha256", "-f"])
                .arg(self.private.with_extension("pub")),
            "ssh-keygen -l",
        );
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .expect("ssh-keygen -l prints bits, fingerprint, comment")
            .to_owned()
    }
}

/// A GnuPG home in a temporary directory; its agent is stopped on drop.
pub struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    pub fn new() -> Gpg {
        require("gpg", "gnupg");
        let home = tempfile::tempdir().expect("temp dir");
        Gpg { home }
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    fn gpg(&self) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.env("GNUPGHOME", self.home.path()).args([
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        cmd
    }

    /// `gpg --quick-gen-key uid algo usage never` without a passphrase; returns the fingerprint.
    pub fn generate(&self, uid: &str, algo: &str, usage: &str) -> String {
        run(
            self.gpg()
                .args(["--quick-gen-key", uid, algo, usage, "never"]),
            "gpg --quick-gen-key",
        );
        self.fingerprint(uid)
    }

    /// `gpg [extra] --quick-gen-key uid algo usage expire` (e.g. `expire` = `2d`, `extra` =
    /// `--faked-system-time 1789900000` to date the key in the past); returns the fingerprint.
    pub fn generate_with(
        &self,
        uid: &str,
        algo: &str,
        usage: &str,
        expire: &str,
        extra: &[&str],
    ) -> String {
        run(
            self.gpg()
                .args(extra)
                .args(["--quick-gen-key", uid, algo, usage, expire]),
            "gpg --quick-gen-key",
        );
        self.fingerprint(uid)
    }

    /// `gpg [extra] --quick-add-key fpr algo usage expire`: a subkey.
    pub fn add_subkey(&self, fpr: &str, algo: &str, usage: &str, expire: &str, extra: &[&str]) {
        run(
            self.gpg()
                .args(extra)
                .args(["--quick-add-key", fpr, algo, usage, expire]),
            "gpg --quick-add-key",
        );
    }

    /// Revokes the whole key by importing the revocation certificate gpg made with it
    /// (`openpgp-revocs.d/FPR.rev`, reason "no reason specified": a hard revocation).
    pub fn revoke(&self, fpr: &str) {
        let rev = self
            .home
            .path()
            .join("openpgp-revocs.d")
            .join(format!("{fpr}.rev"));
        let text = std::fs::read_to_string(&rev).expect("gpg made a revocation certificate");
        // gpg protects it against accidental import with a leading colon.
        let armored = text.replace(
            ":-----BEGIN PGP PUBLIC KEY BLOCK-----",
            "-----BEGIN PGP PUBLIC KEY BLOCK-----",
        );
        self.import(armored.as_bytes());
    }

    /// Revokes the first subkey of `fpr` (`--edit-key`: key 1, revkey, reason 0).
    pub fn revoke_first_subkey(&self, fpr: &str) {
        let mut child = self
            .gpg()
            .args(["--command-fd", "0", "--status-fd", "2", "--edit-key", fpr])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg --edit-key runs");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin
                .write_all(b"key 1\nrevkey\ny\n0\n\ny\nsave\n")
                .expect("write commands");
        }
        let out = child.wait_with_output().expect("gpg --edit-key");
        assert!(
            out.status.success(),
            "gpg --edit-key revkey failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Writes `gpg.conf` (e.g. `faked-system-time`, `digest-algo`, `default-sig-expire`), so
    /// that gpg run by git signs with these options; empty to remove them.
    pub fn set_conf(&self, lines: &str) {
        std::fs::write(self.home.path().join("gpg.conf"), lines).expect("gpg.conf");
    }

    /// The primary fingerprint gpg prints for `uid`.
    pub fn fingerprint(&self, uid: &str) -> String {
        let out = run(
            self.gpg().args(["--with-colons", "--fingerprint", uid]),
            "gpg --fingerprint",
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|l| l.split(':').nth(8))
            .expect("gpg prints an fpr line")
            .to_owned()
    }

    /// `gpg --import` of certificates (armored or binary).
    pub fn import(&self, data: &[u8]) {
        let file = self.home.path().join("import");
        std::fs::write(&file, data).expect("write certificates");
        run(self.gpg().arg("--import").arg(&file), "gpg --import");
    }

    /// `gpg --armor --export` of the given user ids (all keys when empty).
    pub fn export(&self, uids: &[&str]) -> Vec<u8> {
        run(
            self.gpg().args(["--armor", "--export"]).args(uids),
            "gpg --export",
        )
        .stdout
    }

    /// `gpg --armor --detach-sign -u uid` over `data`, with extra options (e.g. `--digest-algo`).
    pub fn sign(&self, uid: &str, data: &[u8], extra: &[&str]) -> Vec<u8> {
        let file = self.home.path().join("payload");
        std::fs::write(&file, data).expect("write payload");
        run(
            self.gpg()
                .args(["--armor", "--detach-sign", "--output", "-", "-u", uid])
                .args(extra)
                .arg(&file),
            "gpg --detach-sign",
        )
        .stdout
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A throwaway X.509 PKI: a root CA made with `openssl req`, user certificates it issues, and a
/// gpgsm home (`GNUPGHOME`) that trusts the root (`trustlist.txt`, CRL checks off) and holds the
/// users' keys, so gpgsm (and `git -c gpg.format=x509`) can sign and verify.
pub struct Pki {
    dir: tempfile::TempDir,
    /// The root certificate, PEM.
    pub root_pem: Vec<u8>,
}

/// A user certificate issued by a [`Pki`].
pub struct X509User {
    /// gpgsm key id (`0x` + last 8 hex digits of the SHA-1 fingerprint).
    pub id: String,
    /// The certificate, PEM.
    pub pem: Vec<u8>,
}

impl Pki {
    pub fn new(ca_name: &str) -> Pki {
        require("openssl", "openssl");
        require("gpgsm", "gpgsm");
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().join("gnupg");
        std::fs::create_dir(&home).expect("gnupg home");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700))
                .expect("chmod gnupg home");
        }
        std::fs::write(home.join("gpgsm.conf"), "disable-crl-checks\n").expect("gpgsm.conf");
        std::fs::write(home.join("gpg-agent.conf"), "allow-loopback-pinentry\n")
            .expect("gpg-agent.conf");
        run(
            Command::new("openssl")
                .current_dir(dir.path())
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
                    "ca.pem", "-days", "30", "-subj",
                ])
                .arg(format!("/CN={ca_name}/O=pushguard test"))
                .args([
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ]),
            "openssl req (root CA)",
        );
        let root_pem = std::fs::read(dir.path().join("ca.pem")).expect("ca.pem");
        let pki = Pki { dir, root_pem };
        // gpgsm trusts the root through trustlist.txt (SHA-1 fingerprint, flag S).
        let fpr = pki.sha1_fingerprint("ca.pem");
        std::fs::write(home.join("trustlist.txt"), format!("{fpr} S\n")).expect("trustlist");
        run(
            pki.gpgsm()
                .arg("--import")
                .arg(pki.dir.path().join("ca.pem")),
            "gpgsm --import root",
        );
        pki
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("gnupg")
    }

    /// The CA's directory: `ca.key`, `ca.pem`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn gpgsm(&self) -> Command {
        let mut cmd = Command::new("gpgsm");
        cmd.env("GNUPGHOME", self.home())
            .args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase-fd",
                "0",
            ])
            .stdin(Stdio::null());
        cmd
    }

    fn sha1_fingerprint(&self, file: &str) -> String {
        let out = run(
            Command::new("openssl").current_dir(self.dir.path()).args([
                "x509",
                "-noout",
                "-fingerprint",
                "-sha1",
                "-in",
                file,
            ]),
            "openssl x509 -fingerprint",
        );
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .split_once('=')
            .expect("fingerprint line")
            .1
            .to_owned()
    }

    /// Issues a certificate for `name` with `extensions` (openssl `-extfile` syntax, e.g.
    /// `subjectAltName=email:a@x`), valid for `days` from now, and imports it with its key into
    /// gpgsm.
    pub fn issue(&self, name: &str, extensions: &str, days: u32) -> X509User {
        self.issue_subject(name, &format!("/CN={name}"), extensions, days)
    }

    /// Same with an explicit subject (`/CN=x/emailAddress=y`).
    pub fn issue_subject(
        &self,
        name: &str,
        subject: &str,
        extensions: &str,
        days: u32,
    ) -> X509User {
        let d = self.dir.path();
        run(
            Command::new("openssl")
                .current_dir(d)
                .args(["req", "-newkey", "rsa:2048", "-nodes", "-keyout"])
                .arg(format!("{name}.key"))
                .arg("-out")
                .arg(format!("{name}.csr"))
                .arg("-subj")
                .arg(subject),
            "openssl req (user)",
        );
        std::fs::write(d.join(format!("{name}.ext")), extensions).expect("extfile");
        run(
            Command::new("openssl")
                .current_dir(d)
                .args([
                    "x509",
                    "-req",
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                ])
                .arg("-in")
                .arg(format!("{name}.csr"))
                .arg("-out")
                .arg(format!("{name}.pem"))
                .arg("-days")
                .arg(days.to_string())
                .arg("-extfile")
                .arg(format!("{name}.ext")),
            "openssl x509 -req",
        );
        // gpgsm 2.2 reads only the old PKCS#12 encryption; an empty passphrase. Now and then
        // (a few percent of runs here) gpgsm fails to decrypt a file openssl reads fine; a new
        // export (new salt) imports, so try a few.
        let mut last = None;
        for _ in 0..5 {
            run(
                Command::new("openssl")
                    .current_dir(d)
                    .args([
                        "pkcs12",
                        "-export",
                        "-passout",
                        "pass:",
                        "-certpbe",
                        "PBE-SHA1-3DES",
                    ])
                    .args(["-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1", "-inkey"])
                    .arg(format!("{name}.key"))
                    .arg("-in")
                    .arg(format!("{name}.pem"))
                    .arg("-out")
                    .arg(format!("{name}.p12")),
                "openssl pkcs12 -export",
            );
            let out = self
                .gpgsm()
                .arg("--import")
                .arg(d.join(format!("{name}.p12")))
                .output()
                .expect("gpgsm runs");
            if out.status.success() {
                last = None;
                break;
            }
            last = Some(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        if let Some(err) = last {
            panic!("gpgsm --import p12 failed 5 times:\n{err}");
        }
        let fpr = self
            .sha1_fingerprint(&format!("{name}.pem"))
            .replace(':', "");
        X509User {
            id: format!("0x{}", &fpr[fpr.len() - 8..]),
            pem: std::fs::read(d.join(format!("{name}.pem"))).expect("user pem"),
        }
    }

    /// `gpgsm --detach-sign --armor -u id` over `data`.
    pub fn sign(&self, user: &X509User, data: &[u8]) -> Vec<u8> {
        let file = self.dir.path().join("payload");
        std::fs::write(&file, data).expect("write payload");
        run(
            self.gpgsm()
                .args(["--detach-sign", "--armor", "-u", &user.id, "-o", "-"])
                .arg(&file),
            "gpgsm --detach-sign",
        )
        .stdout
    }

    /// `openssl cms -sign` (detached, binary, PEM turned into the gpgsm armor) with extra options,
    /// for certificates gpgsm refuses to sign with.
    pub fn openssl_sign(&self, name: &str, data: &[u8], extra: &[&str]) -> Vec<u8> {
        let d = self.dir.path();
        std::fs::write(d.join("payload"), data).expect("write payload");
        let out = run(
            Command::new("openssl")
                .current_dir(d)
                .args([
                    "cms", "-sign", "-binary", "-outform", "PEM", "-in", "payload",
                ])
                .arg("-signer")
                .arg(format!("{name}.pem"))
                .arg("-inkey")
                .arg(format!("{name}.key"))
                .args(extra),
            "openssl cms -sign",
        );
        String::from_utf8_lossy(&out.stdout)
            .replace("-----BEGIN CMS-----", "-----BEGIN SIGNED MESSAGE-----")
            .replace("-----END CMS-----", "-----END SIGNED MESSAGE-----")
            .into_bytes()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home())
            .args(["--kill", "gpg-agent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
