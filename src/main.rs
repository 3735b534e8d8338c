//! The `safetynet` binary: parses the command line, dispatches to the
//! command's module (`cli/commands/`), and maps errors to exit codes. All
//! behaviour lives in the library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

// Ingest allocates a few small strings per cell on several threads, and
// frees them on others; glibc's allocator spent a third of the time on that
// (perf). mimalloc is what DataFusion's own CLI uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    safetynet::base::memory::no_transparent_huge_pages();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap's usage errors are exit 2 like all bad input; --help is 0
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let code = error
                .downcast_ref::<safetynet::Error>()
                .map(safetynet::Error::exit_code)
                .unwrap_or(1);
            // messages quote values from data (file names, cells, countries)
            eprintln!(
                "error: {}",
                safetynet::base::escape::terminal_lines(&safetynet::error::one_line(
                    error.as_ref()
                ))
            );
            ExitCode::from(code as u8)
        }
    }
}
