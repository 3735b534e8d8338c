//! Comparing two shares, and two trends of a share, with the corrections a
//! table of many such comparisons needs: the difference of two shares with
//! Newcombe's hybrid score interval, the two-proportion test, the trend of
//! a share as a logistic regression on the year, and Holm's step-down
//! adjustment of the p-values of a family of tests.

use statrs::function::erf::erfc;

use super::stats::wilson_interval;

/// Two-sided p-value of a standard normal statistic.
fn normal_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0)
}

/// A difference of two shares, as fractions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Difference {
    /// share 1 less share 2
    pub estimate: f64,
    /// 95% interval of the difference (Newcombe 1998, method 10: built
    /// from the two Wilson intervals, so it stays inside [-1, 1] and
    /// behaves for shares near 0 where the Wald interval does not)
    pub low: f64,
    pub high: f64,
    /// two-sided p-value of the pooled two-proportion z-test
    pub p_value: f64,
}

/// The difference of x1/n1 and x2/n2; None when a denominator is 0.
pub fn difference(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<Difference> {
    if n1 == 0 || n2 == 0 || x1 > n1 || x2 > n2 {
        return None;
    }
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let (l1, u1) = wilson_interval(x1, n1)?;
    let (l2, u2) = wilson_interval(x2, n2)?;
    let d = p1 - p2;
    let low = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let high = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    let pooled = (x1 + x2) as f64 / (n1 + n2) as f64;
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 as f64 + 1.0 / n2 as f64)).sqrt();
    // both shares 0 or both 1: no evidence of any difference
    let p_value = if se > 0.0 { normal_p(d / se) } else { 1.0 };
    Some(Difference {
        estimate: d,
        low,
        high,
        p_value,
    })
}

/// Holm's step-down adjustment: each p-value made valid for the whole
/// family, so that "adjusted p < 0.05" keeps the chance of any false
/// finding in the table under 5% (Holm 1979). Order is kept.
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]).then(a.cmp(&b)));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        let value = ((m - rank) as f64 * p_values[i]).min(1.0);
        running = running.max(value);
        adjusted[i] = running;
    }
    adjusted
}

/// The trend of a share over the years: the slope of a logistic
/// regression of the share on the year, fitted by iteratively reweighted
/// least squares on (year, successes, trials).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    /// change of the log-odds per year
    pub slope: f64,
    pub standard_error: f64,
    pub years: usize,
}

impl Trend {
    /// The slope as the change of the odds per year, in percent.
    pub fn odds_change_pct(&self) -> f64 {
        100.0 * (self.slope.exp() - 1.0)
    }
}

/// Fits the trend; None with fewer than three years, when the share is 0
/// (or 1) every year, or when the fit does not settle (a share that leaves
/// 0 only once: the slope has no finite estimate).
pub fn trend(points: &[(i32, u64, u64)]) -> Option<Trend> {
    let points: Vec<(f64, f64, f64)> = points
        .iter()
        .filter(|p| p.2 > 0 && p.1 <= p.2)
        .map(|&(year, x, n)| (f64::from(year), x as f64, n as f64))
        .collect();
    if points.len() < 3 {
        return None;
    }
    let successes: f64 = points.iter().map(|p| p.1).sum();
    let trials: f64 = points.iter().map(|p| p.2).sum();
    if successes == 0.0 || successes == trials {
        return None;
    }
    // centred years keep the two coefficients nearly independent
    let centre = points.iter().map(|p| p.0).sum::<f64>() / points.len() as f64;
    let (mut a, mut b) = ((successes / (trials - successes)).ln(), 0.0);
    for _ in 0..100 {
        // gradient and information matrix of the binomial log-likelihood
        let (mut g0, mut g1, mut i00, mut i01, mut i11) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for &(year, x, n) in &points {
            let t = year - centre;
            let p = 1.0 / (1.0 + (-(a + b * t)).exp());
            let w = n * p * (1.0 - p);
            g0 += x - n * p;
            g1 += (x - n * p) * t;
            i00 += w;
            i01 += w * t;
            i11 += w * t * t;
        }
        let det = i00 * i11 - i01 * i01;
        if !(det.is_finite() && det > 1e-12) {
            return None;
        }
        let (da, db) = ((i11 * g0 - i01 * g1) / det, (i00 * g1 - i01 * g0) / det);
        a += da;
        b += db;
        if !(a.is_finite() && b.is_finite()) || b.abs() > 20.0 {
            return None;
        }
        if da.abs() < 1e-10 && db.abs() < 1e-10 {
            let standard_error = (i00 / det).sqrt();
            return standard_error.is_finite().then_some(Trend {
                slope: b,
                standard_error,
                years: points.len(),
            });
        }
    }
    None
}

/// Two-sided p-value that two trends differ (a Wald test of the
/// difference of two independent slopes).
pub fn trends_differ(one: &Trend, other: &Trend) -> f64 {
    let se = (one.standard_error.powi(2) + other.standard_error.powi(2)).sqrt();
    if se > 0.0 {
        normal_p((one.slope - other.slope) / se)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newcombe_interval_matches_the_published_example() {
        // Newcombe (1998), table II, example (a): 56/70 against 48/80,
        // method 10 gives 0.0524 to 0.3339
        let d = difference(56, 70, 48, 80).unwrap();
        assert!((d.estimate - 0.2).abs() < 1e-12);
        assert!((d.low - 0.0524).abs() < 5e-4, "{d:?}");
        assert!((d.high - 0.3339).abs() < 5e-4, "{d:?}");
        // the pooled z-test of the same: z = 2.646, p = 0.0081
        assert!((d.p_value - 0.0081).abs() < 2e-4, "{d:?}");
        assert_eq!(difference(1, 0, 1, 2), None);
        assert_eq!(difference(0, 10, 0, 20).unwrap().p_value, 1.0);
    }

    #[test]
    fn holm_adjusts_step_down_and_stays_monotone() {
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.005]);
        // sorted: 0.005×4, 0.01×3, 0.03×2, 0.04×1 → 0.02, 0.03, 0.06, 0.06
        let expected = [0.03, 0.06, 0.06, 0.02];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{adjusted:?}");
        }
        assert_eq!(holm(&[0.9, 0.8]), vec![1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn a_logistic_trend_recovers_its_slope() {
        // shares exactly on a logistic curve with slope 0.3 per year
        let points: Vec<(i32, u64, u64)> = (2015..2025)
            .map(|y| {
                let p = 1.0 / (1.0 + (-(-1.0 + 0.3 * f64::from(y - 2020))).exp());
                (y, (p * 1_000_000.0).round() as u64, 1_000_000)
            })
            .collect();
        let t = trend(&points).unwrap();
        assert!((t.slope - 0.3).abs() < 1e-4, "{t:?}");
        assert!(t.standard_error < 0.01);
        assert_eq!(t.years, 10);
        // the same trend twice does not differ; a flat one does
        assert!(trends_differ(&t, &t) > 0.99);
        let flat: Vec<(i32, u64, u64)> = (2015..2025).map(|y| (y, 250_000, 1_000_000)).collect();
        let f = trend(&flat).unwrap();
        assert!(f.slope.abs() < 1e-9);
        assert!(trends_differ(&t, &f) < 1e-6);
    }

    #[test]
    fn a_trend_needs_three_years_and_a_share_that_is_not_always_zero() {
        assert_eq!(trend(&[(2020, 1, 10), (2021, 2, 10)]), None);
        assert_eq!(trend(&[(2020, 0, 10), (2021, 0, 10), (2022, 0, 9)]), None);
        // 0, 0, then all: no finite slope
        assert_eq!(trend(&[(2020, 0, 10), (2021, 0, 10), (2022, 10, 10)]), None);
    }
}
