//! `required_push_certificate`: the push is signed (`git push --signed`) with a fresh nonce,
//! for exactly this push's ref updates, by a known identity (in `allow`, when given).

use super::signatures::Signed;
use super::Ctx;
use crate::policy::{Actor, IdentityBinding, Signatures};
use crate::report::{Code, Subject, Violation};

impl Ctx<'_> {
    /// Once per push, on the first ref this ruleset governs.
    pub(super) fn check_push_certificate(&self, allow: &[Actor], out: &mut Vec<Violation>) {
        let change = self.change;
        let first = change.updates.iter().find(|x| {
            self.ruleset
                .applies_to(&x.name, change.default_branch.as_deref())
        });
        if first.is_none_or(|x| x.name != self.update.name) {
            return;
        }
        let Some(cert) = &change.push_certificate else {
            out.push(
                self.violation(
                    Code::NoPushCertificate,
                    "this push is not signed".to_string(),
                    "push with git push --signed (the server must set receive.certNonceSeed)"
                        .to_string(),
                ),
            );
            return;
        };
        if cert.nonce_status != "OK" {
            out.push(self.violation(
                Code::PushCertificateNonce,
                format!(
                    "the push certificate's nonce is {} (a replayed or stale certificate)",
                    cert.nonce_status
                ),
                "push again with git push --signed, without reusing an old certificate".to_string(),
            ));
        }
        if !cert.matches_push {
            let v = self.violation(
                Code::PushCertificateMismatch,
                "the push certificate signs other ref updates than this push makes".to_string(),
                "push again with git push --signed, so the certificate covers this push"
                    .to_string(),
            );
            out.push(v.about(&cert.id, Subject::PushCertificate));
        }
        // The certificate names its pusher by the key alone: any identity's key will do, if
        // it is on the allow list.
        let params = Signatures {
            identity: IdentityBinding::Any,
            signers: (!allow.is_empty()).then(|| allow.to_vec()),
        };
        if let Some((code, message, fix)) =
            self.object_problem(&params, &cert.signature, "", "", Signed::PushCertificate)
        {
            let v = self.violation(code, format!("push certificate: {message}"), fix);
            out.push(v.about(&cert.id, Subject::PushCertificate));
        }
    }
}
