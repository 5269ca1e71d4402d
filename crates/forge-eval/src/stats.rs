//! Interval estimates and paired tests for pass rates.
//!
//! - [`wilson`]: the Wilson score interval for k successes in n runs (well-behaved at 0 and n,
//!   unlike the normal approximation).
//! - [`mcnemar_exact`]: the exact McNemar test for paired outcomes (the same scenario and run
//!   index under two presets): only discordant pairs count; under the null hypothesis each goes
//!   either way with probability ½, so the two-sided p-value is a binomial tail.

/// z for a two-sided 95 % interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// A two-sided interval on a proportion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower bound in [0, 1].
    pub low: f64,
    /// Upper bound in [0, 1].
    pub high: f64,
}

/// The Wilson score interval for `successes` out of `trials` at normal quantile `z`
/// (`(0, 0)` when there are no trials).
pub fn wilson(successes: u64, trials: u64, z: f64) -> Interval {
    if trials == 0 {
        return Interval {
            low: 0.0,
            high: 0.0,
        };
    }
    #[allow(clippy::cast_precision_loss)] // run counts are far below 2^52
    let (k, n) = (successes.min(trials) as f64, trials as f64);
    let p = k / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    Interval {
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

/// The outcome of a paired comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct McNemar {
    /// Pairs where the first arm was right and the second wrong.
    pub b: u64,
    /// Pairs where the first arm was wrong and the second right.
    pub c: u64,
    /// Two-sided exact p-value.
    pub p_value: f64,
}

/// The exact two-sided McNemar test: `p = min(1, 2·P(X ≤ min(b, c)))`, `X ~ Binomial(b + c, ½)`
/// (computed in log space so large counts do not overflow); `p = 1` without discordant pairs.
pub fn mcnemar_exact(b: u64, c: u64) -> McNemar {
    let n = b + c;
    if n == 0 {
        return McNemar { b, c, p_value: 1.0 };
    }
    let k = b.min(c);
    let ln_half_n = -(n as f64) * std::f64::consts::LN_2;
    let mut ln_choose = 0.0_f64; // ln C(n, 0)
    let mut tail = 0.0_f64;
    for i in 0..=k {
        if i > 0 {
            ln_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        tail += (ln_choose + ln_half_n).exp();
    }
    McNemar {
        b,
        c,
        p_value: (2.0 * tail).min(1.0),
    }
}

/// Significance stars: `***` < .001, `**` < .01, `*` < .05, else `n.s.`.
pub fn stars(p_value: f64) -> &'static str {
    if p_value < 0.001 {
        "***"
    } else if p_value < 0.01 {
        "**"
    } else if p_value < 0.05 {
        "*"
    } else {
        "n.s."
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn wilson_matches_published_values() {
        // (k, n, low, high) at 95 %; 81/263 and 15/148 are the examples of Newcombe (1998), table II.
        let cases = [
            (0, 10, 0.0, 0.277_53),
            (5, 10, 0.236_59, 0.763_41),
            (10, 10, 0.722_47, 1.0),
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 0, 0.0, 0.0),
        ];
        for (k, n, low, high) in cases {
            let ci = wilson(k, n, Z_95);
            assert!(
                close(ci.low, low, 5e-5) && close(ci.high, high, 5e-5),
                "{k}/{n}: {ci:?}"
            );
        }
    }

    #[test]
    fn mcnemar_exact_matches_binomial_tails() {
        // (b, c, p): p = 2 * sum_{i<=min} C(n,i) / 2^n, capped at 1.
        let cases = [
            (0, 0, 1.0),
            (0, 5, 0.0625),
            (1, 9, 0.021_484_375),
            (9, 1, 0.021_484_375),
            (5, 5, 1.0),
            (2, 8, 0.109_375),
            (0, 20, 1.907_348_632_812_5e-6),
        ];
        for (b, c, p) in cases {
            let got = mcnemar_exact(b, c).p_value;
            assert!(close(got, p, 1e-12), "b={b} c={c}: {got} vs {p}");
        }
    }

    #[test]
    fn mcnemar_exact_handles_large_counts() {
        let balanced = mcnemar_exact(500, 500).p_value;
        assert!(close(balanced, 1.0, 1e-9), "{balanced}");
        let lopsided = mcnemar_exact(100, 300).p_value;
        assert!(lopsided > 0.0 && lopsided < 1e-20, "{lopsided}");
    }

    #[test]
    fn stars_thresholds() {
        assert_eq!(stars(0.0005), "***");
        assert_eq!(stars(0.005), "**");
        assert_eq!(stars(0.03), "*");
        assert_eq!(stars(0.05), "n.s.");
    }
}
