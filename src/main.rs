use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: a statement run at full size spent 14 % of its CPU
/// in glibc's malloc and free (1.7 million ledger entries decoded, 72,000 statements rendered,
/// on every core).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // mimalloc asks for transparent huge pages on its arena, so the first touch of each new
    // 2 MB zeroes (or first compacts) all of it: 2-8 ms of a 90 ms `patient find`, on the main
    // thread while the workers wait, and a third of the kernel time of a full-size statement
    // run. Only a speed setting: where the kernel refuses it, nothing else changes.
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    match frontdesk::cli::run() {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("frontdesk: error: {}", err.message);
            if let Some(hint) = &err.hint {
                eprintln!("  hint: {hint}");
            }
            ExitCode::from(err.exit_code())
        }
    }
}
