//! "Did you mean": the nearest known key or value to a misspelt one.

use super::{node::KeyPath, schema};

/// The candidate closest to `word` (optimal string alignment distance, so a swap of two letters
/// counts once; one a prefix of at least half the other, as `warn` of `warning`, counts as one), if it is
/// close enough to be a likely typo.
pub(crate) fn nearest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(&lower, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn distance(lower: &str, candidate: &str) -> usize {
    let candidate = candidate.to_ascii_lowercase();
    let d = strsim::osa_distance(lower, &candidate);
    let (short, long) = if lower.len() < candidate.len() {
        (lower.len(), candidate.len())
    } else {
        (candidate.len(), lower.len())
    };
    let prefix = short >= 3
        && short * 2 >= long
        && (lower.starts_with(&candidate) || candidate.starts_with(lower));
    if prefix { d.min(1) } else { d }
}

/// The known key nearest to the unknown key at `path`: a sibling (`fields`) a letter or two
/// away, else a key of that very name elsewhere in the config (`container.rescan_interval_sec`
/// -> `inventory.rescan_interval_sec`), else the closest of either if close enough. Siblings are
/// written with the indices of `path`.
pub(crate) fn known_key(path: &KeyPath, fields: &[&str]) -> Option<String> {
    let (parent, super::node::Seg::Key(key)) = path.split_last()? else {
        return None;
    };
    let lower = key.to_ascii_lowercase();
    let limit = (key.chars().count() / 3).max(1);
    let distance = |c: &str| distance(&lower, c);
    let sibling = fields
        .iter()
        .map(|f| (distance(f), parent.key(f).to_string()))
        .min_by_key(|(d, _)| *d);
    let here = path.generic();
    let elsewhere = schema::known_keys()
        .iter()
        .filter(|k| !k.contains("[]") && **k != here)
        .filter_map(|k| Some((distance(k.rsplit('.').next()?), k.clone())))
        .min_by_key(|(d, _)| *d);
    let best = match (sibling, elsewhere) {
        (Some(s), _) if s.0 <= 2 => s,
        (_, Some(e)) if e.0 == 0 => e,
        (Some(s), Some(e)) => {
            if e.0 < s.0 {
                e
            } else {
                s
            }
        }
        (s, e) => s.or(e)?,
    };
    (best.0 <= limit).then_some(best.1)
}
