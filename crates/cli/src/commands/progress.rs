//! A progress bar on standard error for long runs (hashing a folder, importing a bank).

use std::io::{self, IsTerminal};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Show the bar only once a run has taken this long, so short runs stay quiet.
const PROGRESS_DELAY: Duration = Duration::from_millis(800);

/// A bar drawn only when standard error is a terminal and the run is long; when it is not a
/// terminal (a log file, a CI job) and `lines_when_piped` is set, a line at every tenth instead.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    interactive: bool,
    lines_when_piped: bool,
    unit: &'static str,
    next_line: u64,
}

impl Progress {
    /// A bar for `total` items called `unit`.
    pub fn new(total: usize, unit: &'static str) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(&format!("{{bar:40}} {{pos}}/{{len}} {unit}  {{per_sec}}  eta {{eta}}")) {
            bar.set_style(style);
        }
        let next_line = (total as u64).div_ceil(10);
        Self { bar, started: Instant::now(), interactive: io::stderr().is_terminal(), lines_when_piped: false, unit, next_line }
    }

    /// Also report every tenth as a line when standard error is not a terminal.
    pub fn with_lines_when_piped(mut self) -> Self {
        self.lines_when_piped = true;
        self
    }

    /// One more item done.
    pub fn tick(&mut self) {
        self.inc(1);
    }

    /// `n` more items done.
    pub fn inc(&mut self, n: u64) {
        self.bar.inc(n);
        if self.interactive {
            if self.bar.is_hidden() && self.started.elapsed() >= PROGRESS_DELAY {
                self.bar.set_draw_target(ProgressDrawTarget::stderr());
            }
        } else if self.lines_when_piped && self.bar.position() >= self.next_line && self.next_line > 0 {
            let total = self.bar.length().unwrap_or(0);
            eprintln!("tocsin: {}/{total} {} ({:.1} s)", self.bar.position(), self.unit, self.started.elapsed().as_secs_f64());
            let step = total.div_ceil(10).max(1);
            self.next_line = (self.bar.position() / step + 1) * step;
        }
    }

    /// Runs `f` with the bar out of the way (to print a line).
    pub fn suspend(&self, f: impl FnOnce()) {
        self.bar.suspend(f);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
