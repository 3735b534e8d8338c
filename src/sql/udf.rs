//! SQL functions registered in every session: `wilson_lo(x, n)` and
//! `wilson_hi(x, n)`, the bounds of the 95% Wilson score interval of the
//! share x/n. Usable from the shipped queries and from analysts' own SQL.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::cast::as_float64_array;
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::prelude::SessionContext;

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The 95% Wilson score interval of x successes in n trials, as fractions.
/// `None` when n is not positive or x is outside 0..=n.
pub fn wilson(x: f64, n: f64) -> Option<(f64, f64)> {
    if n.is_nan() || n <= 0.0 || x < 0.0 || x > n {
        return None;
    }
    let p = x / n;
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = Z95 / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

fn bound(args: &[ColumnarValue], pick: fn((f64, f64)) -> f64) -> Result<ColumnarValue> {
    let arrays = ColumnarValue::values_to_arrays(args)?;
    let x = cast(&arrays[0], &DataType::Float64)?;
    let n = cast(&arrays[1], &DataType::Float64)?;
    let (x, n) = (as_float64_array(&x)?, as_float64_array(&n)?);
    let out: Float64Array = x
        .iter()
        .zip(n.iter())
        .map(|(x, n)| match (x, n) {
            (Some(x), Some(n)) => wilson(x, n).map(pick),
            _ => None,
        })
        .collect();
    Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
}

pub fn register(ctx: &SessionContext) {
    for (name, pick) in [
        ("wilson_lo", (|b: (f64, f64)| b.0) as fn((f64, f64)) -> f64),
        ("wilson_hi", |b: (f64, f64)| b.1),
    ] {
        let udf = create_udf(
            name,
            vec![DataType::Float64, DataType::Float64],
            DataType::Float64,
            Volatility::Immutable,
            Arc::new(move |args: &[ColumnarValue]| bound(args, pick)),
        );
        ctx.register_udf(udf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_known_values() {
        // x = 0, n = 10: upper bound 0.2775 (Wilson 1927; Newcombe 1998 table I)
        let (lo, hi) = wilson(0.0, 10.0).unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - 0.2775).abs() < 5e-5, "{hi}");
        // x = 81, n = 263: 0.2553 to 0.3662 (Newcombe 1998, example)
        let (lo, hi) = wilson(81.0, 263.0).unwrap();
        assert!(
            (lo - 0.2553).abs() < 5e-4 && (hi - 0.3662).abs() < 5e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(10.0, 10.0).unwrap();
        assert!((lo - 0.7225).abs() < 5e-5 && (hi - 1.0).abs() < 1e-12);
        assert!(wilson(1.0, 0.0).is_none());
        assert!(wilson(11.0, 10.0).is_none());
    }
}
