//! How a fleet's targets split into waves: the canary targets first (a wave of their own),
//! then waves of `wave_size` in the order the targets were listed (one wave for all of
//! them without a size).

use std::ops::Range;

/// The waves over `count` targets, as index ranges.
pub fn split(count: usize, canary: usize, wave_size: Option<usize>) -> Vec<Range<usize>> {
    let mut waves = Vec::new();
    let canary = canary.min(count);
    if canary > 0 {
        waves.push(0..canary);
    }
    let size = wave_size.filter(|&s| s > 0).unwrap_or(usize::MAX);
    let mut start = canary;
    while start < count {
        let end = start.saturating_add(size).min(count);
        waves.push(start..end);
        start = end;
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn canary_then_waves() {
        assert_eq!(split(10, 1, Some(4)), vec![0..1, 1..5, 5..9, 9..10]);
        assert_eq!(split(10, 0, None), vec![0..10]);
        assert_eq!(split(3, 5, Some(2)), vec![0..3]);
        assert_eq!(split(0, 1, None), Vec::<std::ops::Range<usize>>::new());
    }
}
