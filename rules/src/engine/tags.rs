//! Tags: the annotated tag a tag ref update pushes (signed, by its tagger) or a lightweight tag
//! where a signed one is required, and a tag pushed under another name than its own.

use super::signatures::Signed;
use super::Ctx;
use crate::facts::ObjectKind;
use crate::policy::Signatures;
use crate::report::{Code, Subject, Violation};

impl Ctx<'_> {
    /// An annotated tag pushed to `refs/tags/NAME` must call itself NAME: otherwise a signed
    /// tag made for one release could be pushed as another (`v0.9` as `v2.0`).
    pub(super) fn check_tag_name(&self, out: &mut Vec<Violation>) {
        let u = self.update;
        let (Some(tag), Some(name)) = (&u.tag, u.name.strip_prefix("refs/tags/")) else {
            return;
        };
        if tag.name == name {
            return;
        }
        let mut v = self.violation(
            Code::TagNameMismatch,
            format!(
                "the tag object is named {:?}, not {name:?}: a tag made for one name is being pushed under another",
                tag.name
            ),
            format!(
                "push it under its own name (refs/tags/{}), or create and sign a tag named {name} (git tag -s {name} <commit>)",
                tag.name
            ),
        );
        v.rule = "tag_name".to_string();
        out.push(v.about(
            &tag.id,
            Subject::Tag {
                tag: tag.name.clone(),
            },
        ));
    }

    /// The annotated tag a tag ref update pushes, or a lightweight-tag violation.
    pub(super) fn check_tag_object(&self, params: &Signatures, out: &mut Vec<Violation>) {
        let u = self.update;
        match (&u.tag, u.new_kind) {
            (Some(tag), ObjectKind::Tag) => {
                let email = tag.tagger.as_ref().map(|p| p.email.as_str()).unwrap_or("");
                if let Some((code, message, fix)) =
                    self.object_problem(params, &tag.signature, email, email, Signed::Tag)
                {
                    out.push(self.violation(code, message, fix).about(
                        &tag.id,
                        Subject::Tag {
                            tag: tag.name.clone(),
                        },
                    ));
                }
            }
            _ => {
                let mut v = self.violation(
                    Code::LightweightTag,
                    "lightweight tag: this tag must be an annotated tag signed by a known identity"
                        .to_string(),
                    "create a signed annotated tag (git tag -s NAME) and push that".to_string(),
                );
                if let Some(new) = &u.new {
                    // What the ref names directly: a commit, as a rule.
                    let object = match u.new_kind {
                        ObjectKind::Commit => Subject::Commit { subject: None },
                        kind => Subject::Other { kind },
                    };
                    v = v.about(new, object);
                }
                out.push(v);
            }
        }
    }
}
