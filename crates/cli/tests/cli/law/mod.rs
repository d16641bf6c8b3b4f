//! The obligations of the law, one module per article, so that the list of tests reads as the
//! list of obligations met; `scripts/legal-table` makes the README's table from these modules.

mod referrals;
mod tco_annex_i;
mod tco_art_3_2;
mod tco_art_3_4;
mod tco_art_3_7;
mod tco_art_3_8;
mod tco_art_6;
mod tco_art_9;
