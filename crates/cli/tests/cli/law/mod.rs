//! The obligations of the law, one module per article, so that the list of tests reads as the
//! list of obligations met; `scripts/legal-table` makes the README's table from these modules.

mod lcen_6_1;
mod referrals;
mod tco_annex_i;
mod tco_annex_ii_iii;
mod tco_art_3_2;
mod tco_art_3_4;
mod tco_art_3_7;
mod tco_art_3_8;
mod tco_art_3_9;
mod tco_art_4_1;
mod tco_art_6;
mod tco_art_9;

use crate::helpers::{Node, Run, tocsin_in};
use crate::orders::{Pair, identity, token};

/// The competent authority of the platform's Member State (Ireland) as a node of its own,
/// confirmed both ways with the pair's authority, which knows its Member State.
pub(crate) struct StateAuthority {
    dir: tempfile::TempDir,
    node: Node,
    issuer: String,
}

impl StateAuthority {
    pub(crate) fn start(pair: &Pair) -> StateAuthority {
        let dir = tempfile::tempdir().expect("dir");
        let (admin, issuer) = (token(dir.path(), "chief", "admin"), token(dir.path(), "desk", "issuer"));
        let node = Node::start(dir.path(), &["--name", "cnam", "--role", "authority"], &[]);
        let (_, fingerprint) = identity(&node);
        let (_, nl) = identity(&pair.authority);
        let authority = StateAuthority { dir, node, issuer };
        let nl_url = format!("http://{}", pair.authority.addr);
        assert_eq!(authority.run(&admin, &["peer", "add", &nl_url, "--fingerprint", &nl, "--role", "authority"]).code, 0);
        let url = format!("http://{}", authority.node.addr);
        assert_eq!(
            pair.cli_on_authority(&pair.admin, &["peer", "add", &url, "--fingerprint", &fingerprint, "--role", "authority"]).code,
            0
        );
        assert_eq!(pair.cli_on_authority(&pair.admin, &["legal", "set", "--peer", "cnam", "--member-state", "IE"]).code, 0);
        authority
    }

    pub(crate) fn run(&self, token: &str, args: &[&str]) -> Run {
        let server = format!("http://{}", self.node.addr);
        tocsin_in(self.dir.path(), &[args, &["--server", &server, "--token", token]].concat())
    }

    /// What `tocsin order ARGS` prints on this node once it prints something (at most 30 s).
    pub(crate) fn wait_for_lines(&self, args: &[&str]) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let out = self.run(&self.issuer, args).stdout;
            if !out.is_empty() {
                return out;
            }
            assert!(std::time::Instant::now() < deadline, "nothing from {args:?} within 30 s");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}
