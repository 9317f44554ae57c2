use std::process::ExitCode;

fn main() -> ExitCode {
    match grab_tickets::run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("grab-tickets: error: {err}");
            err.exit_code()
        }
    }
}
