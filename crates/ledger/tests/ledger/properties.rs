//! For every tree up to a few dozen leaves: every proof made verifies, and any change to the
//! proof, the leaf, the index, the sizes or the roots makes it fail.

use proptest::prelude::*;
use tocsin_ledger::{CompactTree, Hash, ProofError, consistency_proof, inclusion_proof, root, verify_consistency, verify_inclusion};

use crate::helpers::leaves;

/// `hash` with one bit flipped.
fn flipped(hash: &Hash, bit: usize) -> Hash {
    let mut out = *hash;
    out.0[bit / 8 % 32] ^= 1 << (bit % 8);
    out
}

#[test]
fn every_leaf_of_every_small_tree_proves_its_inclusion() {
    let all = leaves(40);
    for size in 1..=all.len() {
        let tree = &all[..size];
        let head = root(tree);
        for index in 0..size {
            let proof = inclusion_proof(tree, index as u64).expect("in range");
            verify_inclusion(&tree[index], index as u64, size as u64, &proof, &head).expect("verifies");
            // The same proof for the wrong leaf, position or tree fails.
            let other = (index + 1) % size;
            if other != index {
                assert!(verify_inclusion(&tree[other], index as u64, size as u64, &proof, &head).is_err());
                assert!(verify_inclusion(&tree[index], other as u64, size as u64, &proof, &head).is_err());
            }
            // (A wrong size is not always caught by the proof itself: leaf 0 of 3 has the same
            // path shape in a tree of 4. The signed tree head binds size and root together.)
            assert!(verify_inclusion(&tree[index], index as u64, size as u64, &proof, &flipped(&head, 0)).is_err());
        }
    }
}

#[test]
fn every_pair_of_small_trees_proves_consistency() {
    let all = leaves(33);
    for new in 0..=all.len() {
        let new_root = root(&all[..new]);
        for old in 0..=new {
            let old_root = root(&all[..old]);
            let proof = consistency_proof(&all[..new], old as u64).expect("old is not larger");
            verify_consistency(old as u64, new as u64, &old_root, &new_root, &proof).expect("verifies");
            if old > 0 && old < new {
                // A rewritten old tree, or a new tree that does not extend it, fails.
                assert!(verify_consistency(old as u64, new as u64, &flipped(&old_root, 3), &new_root, &proof).is_err());
                assert!(verify_consistency(old as u64, new as u64, &old_root, &flipped(&new_root, 3), &proof).is_err());
                assert!(verify_consistency(old as u64 + 1, new as u64, &old_root, &new_root, &proof).is_err());
            }
        }
    }
}

#[test]
fn a_larger_old_tree_or_a_leaf_past_the_end_is_refused() {
    let all = leaves(5);
    assert_eq!(inclusion_proof(&all, 5), Err(ProofError::NoSuchLeaf { index: 5, size: 5 }));
    assert_eq!(consistency_proof(&all, 6), Err(ProofError::Shrunk { old: 6, new: 5 }));
    let r = root(&all);
    assert!(verify_consistency(6, 5, &r, &r, &[]).is_err());
    assert!(verify_inclusion(&all[0], 0, 0, &[], &r).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_single_bit_flipped_in_a_proof_is_caught(size in 2usize..200, pick in any::<u64>(), bit in 0usize..256) {
        let tree = leaves(size);
        let head = root(&tree);
        let index = pick % size as u64;
        let mut proof = inclusion_proof(&tree, index).expect("in range");
        let at = (pick as usize / size) % proof.len();
        proof[at] = flipped(&proof[at], bit);
        prop_assert_eq!(verify_inclusion(&tree[index as usize], index, size as u64, &proof, &head), Err(ProofError::Mismatch));

        let old = 1 + pick % (size as u64 - 1);
        let mut proof = consistency_proof(&tree, old).expect("old is smaller");
        let at = (pick as usize / size) % proof.len();
        proof[at] = flipped(&proof[at], bit);
        prop_assert!(verify_consistency(old, size as u64, &root(&tree[..old as usize]), &head, &proof).is_err());
    }

    #[test]
    fn dropping_or_adding_a_proof_hash_is_caught(size in 2usize..200, pick in any::<u64>()) {
        let tree = leaves(size);
        let head = root(&tree);
        let index = pick % size as u64;
        let proof = inclusion_proof(&tree, index).expect("in range");
        prop_assert!(verify_inclusion(&tree[index as usize], index, size as u64, &proof[1..], &head).is_err());
        let longer: Vec<Hash> = proof.iter().copied().chain([head]).collect();
        prop_assert!(verify_inclusion(&tree[index as usize], index, size as u64, &longer, &head).is_err());
    }

    #[test]
    fn a_compact_tree_has_the_root_of_its_leaves_after_every_append(size in 0usize..300) {
        let tree = leaves(size);
        let mut compact = CompactTree::new();
        for (n, leaf) in tree.iter().enumerate() {
            compact.push(*leaf);
            prop_assert_eq!(compact.root(), root(&tree[..=n]));
        }
        let again = CompactTree::from_parts(compact.size(), compact.peaks().to_vec()).expect("consistent parts");
        prop_assert_eq!(again.root(), root(&tree));
        if let Some((_, fewer)) = compact.peaks().split_first() {
            prop_assert!(CompactTree::from_parts(compact.size(), fewer.to_vec()).is_none(), "a peak missing is refused");
        }
    }
}
