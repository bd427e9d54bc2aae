//! File-name rules: at least GitLab's documented "prevent pushing secret files" deny-list
//! (ee/lib/gitlab/checks/files_denylist.yml), plus other credential files.

use crate::rule::{Allowlist, Rule};

fn p(id: &str, desc: &str, re: &str, pos: &[&str], neg: &[&str]) -> Rule {
    Rule::new(id, desc)
        .path(re)
        .tags(&["file-name"])
        .path_examples(pos, neg)
}

pub(crate) fn rules() -> Vec<Rule> {
    vec![
        // GitLab deny-list (same regexes, same unanchored semantics)
        p(
            "aws-credentials-file",
            "AWS CLI credentials file",
            r"aws/credentials$",
            &[".aws/credentials", "home/ci/.aws/credentials"],
            &[".aws/config", "docs/aws/credentials.md"],
        ),
        p(
            "ssh-config-key-file",
            "SSH key file under ssh/ or config/",
            r"(?:ssh|config)/(?:personal|server)_(?:rsa|dsa|ed25519|ecdsa|ecdsa_sk|ed25519_sk)$",
            &["config/server_rsa", "ssh/personal_ed25519"],
            &["config/server_rsa.pub", "config/server.rb"],
        ),
        p(
            "ssh-private-key-file",
            "SSH private key file (id_rsa, id_ed25519, ...)",
            r"id_(?:rsa|dsa|ed25519|ecdsa|ecdsa_sk|ed25519_sk)$",
            &["id_rsa", ".ssh/id_ed25519", "keys/id_ecdsa_sk"],
            &[".ssh/id_rsa.pub", ".ssh/id_ed25519.pub", "id_rsa_test.go"],
        ),
        p(
            "pem-file",
            "PEM file (certificate or key)",
            r"\.pem$",
            &["certs/server.pem", "key.pem"],
            &["docs/pem.md", "server.pem.example"],
        ),
        p(
            "key-file",
            "Key file (*.key)",
            r"\.key$",
            &["tls/server.key", "private.key"],
            &["keyboard.js", "server.key.example", "apikey.go"],
        ),
        p(
            "shell-history-file",
            "Shell or REPL history file",
            r"[._]history$",
            &[
                ".bash_history",
                "home/me/.zsh_history",
                ".psql_history",
                "fish_history",
            ],
            &["history.md", "src/history.rs"],
        ),
        // Beyond GitLab's list
        p(
            "pkcs12-file",
            "PKCS#12 keystore (*.p12, *.pfx)",
            r"(?i)\.(?:p12|pfx)$",
            &["signing/release.p12", "cert.PFX"],
            &["p12.md"],
        ),
        p(
            "java-keystore-file",
            "Java keystore (*.jks, *.keystore)",
            r"(?i)\.(?:jks|keystore)$",
            &["app/release.keystore", "truststore.jks"],
            &["keystore.md"],
        ),
        p(
            "putty-key-file",
            "PuTTY private key file (*.ppk)",
            r"(?i)\.ppk$",
            &["keys/deploy.ppk"],
            &["ppk.txt"],
        ),
        Rule::new("dotenv-file", "dotenv environment file")
            .path(r"(?:^|/)\.env(?:\.[A-Za-z0-9_\-.]+)?$")
            .tags(&["file-name"])
            .allow(Allowlist {
                description: Some("templates".into()),
                paths: vec![
                    r"(?i)\.env\.(?:example|sample|template|dist|defaults|schema|test)$".into(),
                ],
                ..Allowlist::default()
            })
            .path_examples(
                &[".env", "app/.env.production", ".env.local"],
                &[".env.example", "app/.env.sample", "env.py", ".envrc.md"],
            ),
        p(
            "netrc-file",
            "netrc credentials file",
            r"(?:^|/)[._]netrc$",
            &[".netrc", "home/u/_netrc"],
            &["netrc.go"],
        ),
        p(
            "pgpass-file",
            "PostgreSQL password file",
            r"(?:^|/)\.pgpass$",
            &[".pgpass"],
            &["pgpass.md"],
        ),
        p(
            "git-credentials-file",
            "git credential store file",
            r"(?:^|/)\.git-credentials$",
            &[".git-credentials"],
            &["git-credentials.md"],
        ),
        p(
            "kubeconfig-file",
            "Kubernetes kubeconfig",
            r"(?:^|/)\.kube/config$|(?:^|/)kubeconfig(?:\.ya?ml)?$",
            &[".kube/config", "deploy/kubeconfig"],
            &["docs/kubeconfig.md"],
        ),
        p(
            "gnupg-private-keyring",
            "GnuPG private keyring",
            r"(?:^|/)(?:\.gnupg/)?(?:secring\.gpg|private-keys-v1\.d/[^/]+\.key)$",
            &[".gnupg/secring.gpg", ".gnupg/private-keys-v1.d/ABCD.key"],
            &["pubring.gpg"],
        ),
        p(
            "terraform-state-file",
            "Terraform state (holds resource secrets)",
            r"\.tfstate(?:\.backup)?$",
            &["terraform.tfstate", "infra/terraform.tfstate.backup"],
            &["tfstate.md"],
        ),
        p(
            "keepass-database",
            "KeePass database",
            r"(?i)\.kdbx?$",
            &["vault.kdbx"],
            &["kdbx.md"],
        ),
        p(
            "htpasswd-file",
            "Apache htpasswd file",
            r"(?:^|/)\.htpasswd$",
            &[".htpasswd"],
            &["htpasswd.go"],
        ),
        p(
            "gcp-credentials-file",
            "Google Cloud credentials JSON",
            r"(?:^|/)(?:application_default_credentials|client_secrets?(?:_[^/]*)?|service[-_]account(?:[-_][^/]*)?|gcp[-_]key)\.json$",
            &[
                "application_default_credentials.json",
                "client_secret_1234.apps.googleusercontent.com.json",
                "service-account.json",
            ],
            &["package.json", "service-account.md"],
        ),
        p(
            "cloud-cli-credentials-file",
            "Cloud CLI / package manager credentials file",
            r"(?:^|/)\.(?:s3cfg|boto|pypirc|gem/credentials|docker/config\.json|dockercfg|npmrc|composer/auth\.json)$",
            &[".s3cfg", ".pypirc", ".docker/config.json"],
            &["s3cfg.md", "docker/config.json.md"],
        ),
        p(
            "rails-master-key",
            "Rails master key",
            r"(?:^|/)config/(?:master|credentials/[a-z]+)\.key$",
            &["config/master.key", "config/credentials/production.key"],
            &["config/master.rb"],
        ),
        p(
            "wireguard-config",
            "WireGuard configuration (holds private key)",
            r"(?:^|/)wg[0-9]*\.conf$",
            &["wg0.conf"],
            &["wget.conf"],
        ),
        p(
            "openvpn-config",
            "OpenVPN client configuration",
            r"(?i)\.ovpn$",
            &["client.ovpn"],
            &["ovpn.md"],
        ),
    ]
}
