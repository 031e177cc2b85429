use std::process::ExitCode;

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
