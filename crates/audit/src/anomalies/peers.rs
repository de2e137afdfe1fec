//! The robust z-score: how far a value stands from its peers' median, in units of their median
//! absolute deviation (Iglewicz and Hoaglin: 0.6745 × (x − median) / MAD), so one extreme peer
//! does not hide another.

/// The median of `values` (sorted here); 0 for none.
pub(super) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The robust z-score of each of `values` against all of them, and their median; `None` when
/// they do not spread (every deviation 0: nothing stands out).
pub(super) fn robust_z(values: &[f64]) -> Option<(Vec<f64>, f64)> {
    let mut sorted = values.to_vec();
    let mid = median(&mut sorted);
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - mid).abs()).collect();
    let mad = median(&mut deviations);
    // Half the values or more equal to the median: the mean absolute deviation instead
    // (scaled to the same units, 1.2533 = √(π/2)), as Iglewicz and Hoaglin suggest.
    let scale = if mad > 0.0 {
        mad / 0.6745
    } else {
        let mean = deviations.iter().sum::<f64>() / deviations.len().max(1) as f64;
        mean * 1.2533
    };
    (scale > 0.0).then(|| (values.iter().map(|v| (v - mid) / scale).collect(), mid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_far_value_stands_out_and_equal_values_do_not() {
        let (z, mid) = robust_z(&[0.2, 0.21, 0.19, 0.2, 0.22, 2.0]).unwrap();
        assert!((mid - 0.205).abs() < 1e-9);
        assert!(z[5] > 3.5, "{z:?}");
        assert!(z[..5].iter().all(|z| z.abs() < 3.5), "{z:?}");
        assert_eq!(robust_z(&[1.0, 1.0, 1.0]), None);
        // Most equal, one apart: the mean absolute deviation still measures it.
        let (z, _) = robust_z(&[1.0, 1.0, 1.0, 1.0, 5.0]).unwrap();
        assert!(z[4] > 3.5);
    }
}
