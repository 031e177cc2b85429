//! Inline SVG bar charts for HTML reports: the geometry is worked out here in whole pixels, the
//! drawing is in `templates/reports/report.html`. Bars are dark grey with a black edge and the
//! value printed beside each, and a capacity (available minutes) is a white box with a black
//! edge behind its bar, so a chart reads the same printed in black and white.

use serde::Serialize;

const ROW: u32 = 24;
const BAR: u32 = 16;
const LABEL: u32 = 150;
const PLOT: u32 = 380;
const VALUE: u32 = 130;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    pub title: String,
    pub width: u32,
    pub height: u32,
    /// Where labels end (right-aligned) and bars start.
    pub label_x: u32,
    pub bar_x: u32,
    pub bar_height: u32,
    pub bars: Vec<Bar>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    pub label: String,
    pub value: String,
    pub y: u32,
    pub text_y: u32,
    pub width: u32,
    /// Width of the capacity box behind the bar; 0 for none.
    pub outline: u32,
    pub value_x: u32,
}

/// One bar per item: (label, magnitude, value as people read it, capacity). Magnitudes are
/// whole units (cents, minutes, tenths of a percent); negative ones draw as empty bars.
pub fn bars(title: &str, items: Vec<(String, i64, String, Option<i64>)>) -> Chart {
    let max = items
        .iter()
        .map(|(_, v, _, cap)| (*v).max(cap.unwrap_or(0)))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |v: i64| -> u32 { ((v.max(0) as i128 * PLOT as i128) / max as i128) as u32 };
    let bars: Vec<Bar> = items
        .into_iter()
        .enumerate()
        .map(|(i, (label, v, value, cap))| {
            let y = 6 + i as u32 * ROW;
            let width = scale(v);
            let outline = cap.map_or(0, scale);
            Bar {
                label,
                value,
                y,
                text_y: y + BAR - 3,
                width,
                outline,
                value_x: LABEL + width.max(outline) + 6,
            }
        })
        .collect();
    Chart {
        title: title.to_string(),
        width: LABEL + PLOT + VALUE,
        height: 12 + bars.len() as u32 * ROW,
        label_x: LABEL - 6,
        bar_x: LABEL,
        bar_height: BAR,
        bars,
    }
}

/// An amount in whole cents, for a bar's length.
pub fn cents(d: rust_decimal::Decimal) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    (d * rust_decimal::Decimal::ONE_HUNDRED)
        .trunc()
        .to_i64()
        .unwrap_or(0)
}

/// A rate in tenths of a percent, for a bar's length.
pub fn permille(r: rust_decimal::Decimal) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    (r * rust_decimal::Decimal::ONE_THOUSAND)
        .round()
        .to_i64()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_value_or_capacity() {
        let c = bars(
            "t",
            vec![
                ("a".into(), 50, "50".into(), Some(100)),
                ("b".into(), 100, "100".into(), None),
                ("c".into(), -5, "-5".into(), None),
            ],
        );
        assert_eq!(c.bars[0].width, PLOT / 2);
        assert_eq!(c.bars[0].outline, PLOT);
        assert_eq!(c.bars[1].width, PLOT);
        assert_eq!(c.bars[2].width, 0);
        assert_eq!(c.height, 12 + 3 * ROW);
        assert!(c.bars.iter().all(|b| b.value_x <= c.width));
    }

    #[test]
    fn an_empty_chart_has_no_bars() {
        let c = bars("t", vec![]);
        assert!(c.bars.is_empty());
    }
}
