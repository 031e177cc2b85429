use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: a statement run at full size spent 14 % of its CPU
/// in glibc's malloc and free (1.7 million ledger entries decoded, 72,000 statements rendered,
/// on every core).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc asks for transparent huge pages on its arena, so the first touch of each new 2 MB
/// zeroes (or first compacts) all of it: 2-8 ms of a 90 ms `patient find`, on the main thread
/// while the workers wait, and a third of the kernel time of a full-size statement run. The
/// switch is thrown before `main`, from the executable's constructors: Rust's runtime makes the
/// first allocation (the main thread's name) before `main` runs, and that one reserved the arena
/// with two huge pages, 2-3 ms of every desk command at full size (a quarter of `patient add`'s
/// own time). Only a speed setting: where the kernel refuses it, nothing else changes.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static DISABLE_HUGE_PAGES_BEFORE_THE_FIRST_ALLOCATION: extern "C" fn() = disable_huge_pages;

#[cfg(target_os = "linux")]
extern "C" fn disable_huge_pages() {
    // A bare prctl: nothing here allocates, and nothing of Rust's runtime is set up yet.
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}

fn main() -> ExitCode {
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
