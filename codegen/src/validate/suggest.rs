//! "Did you mean …?": the closest known name to a misspelt one, for help lines.
//!
//! Used by the schema reader (unknown keys) and by the rules (unknown types, tables, columns,
//! functions, enum labels). The distance is the optimal-string-alignment edit distance
//! (insertions, deletions, substitutions and swaps of two neighbours), compared
//! case-insensitively; a candidate qualifies within a third of the word's length (at least one
//! edit), the way rustc's `find_best_match_for_name` does.

/// The candidate closest to `word`, if one is close enough to be a likely typo. Ties go to the
/// first candidate. A candidate equal to `word` is skipped (it would not be a typo); one that
/// differs only in case is the best possible match.
pub fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let lower: Vec<char> = word.to_lowercase().chars().collect();
    let max = lower.len().max(3) / 3;
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == word || candidate.is_empty() {
            continue;
        }
        let c: Vec<char> = candidate.to_lowercase().chars().collect();
        // Cheap bound before the quadratic distance.
        if c.len().abs_diff(lower.len()) > max {
            continue;
        }
        let d = distance(&lower, &c);
        if d <= max && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c.to_owned())
}

/// Optimal-string-alignment distance between two character sequences.
fn distance(a: &[char], b: &[char]) -> usize {
    // Three rows of the dynamic-programming table: two back (for swaps), one back, current.
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(word: &str, candidates: &[&str]) -> Option<String> {
        suggest(word, candidates.iter().copied())
    }

    #[test]
    fn finds_close_names() {
        assert_eq!(
            s("stauts", &["status", "state", "users"]).as_deref(),
            Some("status")
        );
        assert_eq!(s("txt", &["text", "uuid"]).as_deref(), Some("text"));
        assert_eq!(
            s("colums", &["columns", "comment"]).as_deref(),
            Some("columns")
        );
        assert_eq!(s("Users", &["users"]).as_deref(), Some("users"));
        assert_eq!(s("tabel", &["table", "enum"]).as_deref(), Some("table"));
    }

    #[test]
    fn refuses_far_names() {
        assert_eq!(s("foo", &["users", "table"]), None);
        assert_eq!(s("id", &["uuid"]), None);
        assert_eq!(s("users", &["users"]), None);
        assert_eq!(s("x", &[]), None);
    }

    #[test]
    fn prefers_the_closest_then_the_first() {
        assert_eq!(
            s("abcd", &["abxy", "abcx", "abcy"]).as_deref(),
            Some("abcx")
        );
    }

    #[test]
    fn distance_counts_swaps_as_one_edit() {
        let d = |a: &str, b: &str| {
            let a: Vec<char> = a.chars().collect();
            let b: Vec<char> = b.chars().collect();
            distance(&a, &b)
        };
        assert_eq!(d("ab", "ba"), 1);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("é", "e"), 1);
    }
}
