use crate::harness::*;

fn world() -> (World, std::path::PathBuf, Client, Daemon) {
    standard_world()
}

fn signed_tag(w: &World, c: &Client, name: &str, key: &str, email: &str) {
    c.git(&[
        "-c",
        "gpg.format=ssh",
        "-c",
        &format!("user.signingkey={}", w.key(key).display()),
        "-c",
        &format!("user.email={email}"),
        "tag",
        "-s",
        "-m",
        &format!("Release {name}"),
        name,
    ]);
}

#[test]
fn signed_annotated_tag_by_a_maintainer_is_accepted() {
    let (w, bare, c, d) = world();
    signed_tag(&w, &c, "v1.0", "alice", "alice@example.org");
    let p = c.push(&["origin", "v1.0"]);
    assert!(p.ok, "{}\n{}", p.text, d.log_text());
    assert!(rev(&bare, "refs/tags/v1.0").is_some());
}

#[test]
fn openpgp_signed_tag_is_accepted() {
    let (w, _bare, c, _d) = world();
    let fpr = w.gpg_fingerprint();
    c.git(&[
        "-c",
        "gpg.format=openpgp",
        "-c",
        &format!("user.signingkey={fpr}"),
        "-c",
        "user.email=alice@example.org",
        "tag",
        "-s",
        "-m",
        "Release",
        "v1.1",
    ]);
    let p = c.push(&["origin", "v1.1"]);
    assert!(p.ok, "{}", p.text);
}

#[test]
fn tag_created_by_a_non_maintainer_is_rejected() {
    let (w, _bare, c, _d) = world();
    signed_tag(&w, &c, "v2.0", "bob", "bob@example.org");
    let p = c.push_as(Some("bob"), &["origin", "v2.0"]);
    assert!(!p.ok);
    assert!(
        p.flat().contains("x creation (ruleset release-tags)"),
        "{}",
        p.text
    );
    assert!(
        p.flat().contains("only role:maintainer may create it"),
        "{}",
        p.text
    );
}

#[test]
fn unsigned_and_lightweight_tags_are_rejected() {
    let (_w, _bare, c, _d) = world();
    c.git(&["tag", "-a", "-m", "unsigned", "v3.0"]);
    let p = c.push(&["origin", "v3.0"]);
    assert!(!p.ok);
    assert!(p.flat().contains("tag v3.0"), "{}", p.text);
    assert!(p.flat().contains("tag is not signed"), "{}", p.text);
    c.git(&["tag", "v3.1"]);
    let p = c.push(&["origin", "v3.1"]);
    assert!(!p.ok);
    assert!(p.flat().contains("lightweight tag"), "{}", p.text);
}

#[test]
fn tag_signed_by_a_key_not_owning_the_tagger_email_is_rejected() {
    let (w, _bare, c, _d) = world();
    signed_tag(&w, &c, "v4.0", "bob", "alice@example.org");
    let p = c.push(&["origin", "v4.0"]);
    assert!(!p.ok);
    assert!(
        p.flat()
            .contains("but the tagger email <alice@example.org> belongs to alice"),
        "{}",
        p.text
    );
    assert!(
        p.flat().contains("signed with bob's key SHA256:"),
        "{}",
        p.text
    );
}

#[test]
fn tags_cannot_be_moved_or_deleted() {
    let (w, bare, c, _d) = world();
    signed_tag(&w, &c, "v1.0", "alice", "alice@example.org");
    assert!(c.push(&["origin", "v1.0"]).ok);
    let first = rev(&bare, "refs/tags/v1.0");
    c.commit("a.txt", "alice@example.org", Sign::Ssh("alice"));
    assert!(c.push(&["origin", "main"]).ok);
    c.git(&[
        "-c",
        "gpg.format=ssh",
        "-c",
        &format!("user.signingkey={}", w.key("alice").display()),
        "-c",
        "user.email=alice@example.org",
        "tag",
        "-f",
        "-s",
        "-m",
        "moved",
        "v1.0",
    ]);
    let p = c.push(&["--force", "origin", "v1.0"]);
    assert!(!p.ok);
    assert!(
        p.flat().contains("x update (ruleset release-tags)"),
        "{}",
        p.text
    );
    assert!(
        p.flat()
            .contains("tags are immutable here: nobody may move it"),
        "{}",
        p.text
    );
    let p = c.push(&["origin", ":refs/tags/v1.0"]);
    assert!(!p.ok);
    assert!(
        p.flat().contains("x deletion (ruleset release-tags)"),
        "{}",
        p.text
    );
    assert_eq!(rev(&bare, "refs/tags/v1.0"), first);
}
