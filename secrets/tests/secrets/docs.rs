//! docs/secrets.md carries the generated rules list; this test keeps it in sync.
//! Regenerate with `UPDATE_DOCS=1 cargo test -p pushguard-secrets --test secrets docs`.

const BEGIN: &str =
    "<!-- BEGIN GENERATED RULES (UPDATE_DOCS=1 cargo test -p pushguard-secrets --test secrets docs) -->\n";
const END: &str = "<!-- END GENERATED RULES -->";

#[test]
fn rules_list_in_docs_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/secrets.md");
    let doc = std::fs::read_to_string(path).expect("docs/secrets.md exists");
    let table = secrets::report::rules_markdown(&secrets::RuleSet::builtin());
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/secrets.md lacks the generated-rules markers")
    };
    let current = &doc[b + BEGIN.len()..e];
    if current != table {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{BEGIN}{table}{}", &doc[..b], &doc[e..]);
            std::fs::write(path, updated).expect("write docs/secrets.md");
        } else {
            panic!("docs/secrets.md rules list is stale; run UPDATE_DOCS=1 cargo test -p pushguard-secrets --test secrets docs");
        }
    }
}
