//! Progress bars for long work: shown on a terminal, silent when stderr is
//! not a terminal or with `--quiet`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar over `total` bytes (or rows, for `rows`) labelled `label`.
    pub fn bytes(enabled: bool, total: u64, label: &str) -> Self {
        Self::with_template(
            enabled,
            total,
            label,
            "{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})",
        )
    }

    pub fn rows(enabled: bool, total: u64, label: &str) -> Self {
        Self::with_template(
            enabled,
            total,
            label,
            "{msg} [{bar:30}] {pos}/{len} records ({eta})",
        )
    }

    fn with_template(enabled: bool, total: u64, label: &str, template: &str) -> Self {
        let bar = if enabled && std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(template)
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_message(label.to_string());
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress { bar }
    }

    pub fn set_position(&self, position: u64) {
        self.bar.set_position(position);
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
