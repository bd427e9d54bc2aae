//! File-name rules, only for files that *are* key material: private key files named like
//! OpenSSH's (`id_rsa`, GitLab's `ssh/personal_rsa` deny-list entries) and binary keystores
//! (PKCS#12, Java keystores, GnuPG secret keyrings, KeePass databases), whose content the text
//! rules cannot read. Every other credential file (`.env`, `.netrc`, `.pgpass`, `*.pem`,
//! `*.key`, kubeconfig, Terraform state, …) is a place where the content rules in
//! `families.rs` look harder; a finding there points at the credential, never at the name, so
//! a public certificate in `server.pem` or an `.env` of placeholders blocks nothing.

use crate::rule::Rule;

fn p(id: &str, desc: &str, re: &str, pos: &[&str], neg: &[&str]) -> Rule {
    Rule::new(id, desc)
        .path(re)
        .tags(&["file-name"])
        .path_examples(pos, neg)
}

pub(crate) fn rules() -> Vec<Rule> {
    vec![
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
            "pkcs12-file",
            "PKCS#12 keystore (*.p12, *.pfx)",
            r"(?i)\.(?:p12|pfx)$",
            &["signing/release.p12", "cert.PFX"],
            &["p12.md"],
        ),
        p(
            "java-keystore-file",
            "Java keystore (*.jks, *.keystore)",
            r"(?i)\.(?:jks|jceks|bks|keystore)$",
            &[
                "app/release.keystore",
                "truststore.jks",
                "config/credentials.jceks",
            ],
            &["keystore.md"],
        ),
        p(
            "gnupg-private-keyring",
            "GnuPG private keyring",
            r"(?:^|/)(?:\.gnupg/)?(?:secring\.gpg|private-keys-v1\.d/[^/]+\.key)$",
            &[".gnupg/secring.gpg", ".gnupg/private-keys-v1.d/ABCD.key"],
            &["pubring.gpg"],
        ),
        p(
            "keepass-database",
            "KeePass database",
            r"(?i)\.kdbx?$",
            &["vault.kdbx"],
            &["kdbx.md"],
        ),
    ]
}
