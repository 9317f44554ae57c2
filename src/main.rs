use std::process::ExitCode;

fn main() -> ExitCode {
    let exit = match grab_tickets::buyer_plan() {
        Some(plan) => grab_tickets::run_buyer(&plan),
        None => grab_tickets::run().unwrap_or_else(|err| {
            eprintln!("{}", grab_tickets::error_line(&err));
            err.exit()
        }),
    };
    exit.into()
}
