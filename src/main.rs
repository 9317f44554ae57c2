// On Unix the program starts at a C `main` of its own, not std's: std's start-up (a
// stack-overflow handler whose set-up reads /proc/self/maps, an alternate signal stack, a
// poll of fds 0-2) cost every buyer process about 0.1 ms of its 0.9 (docs/performance.md),
// and a run is mostly buyer start-ups. `grab_tickets::start` keeps what the program relies on.
#![cfg_attr(unix, no_main)]

#[cfg(unix)]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    std::ffi::c_int::from(switchboard().code())
}

#[cfg(not(unix))]
fn main() -> std::process::ExitCode {
    switchboard().into()
}

fn switchboard() -> grab_tickets::Exit {
    let exit = match grab_tickets::buyer_plan() {
        Some(plan) => {
            grab_tickets::start(grab_tickets::Role::Buyer);
            grab_tickets::run_buyer(&plan)
        }
        None => {
            grab_tickets::start(grab_tickets::Role::Launcher);
            grab_tickets::run().unwrap_or_else(|err| {
                eprintln!("{}", grab_tickets::error_line(&err));
                err.exit()
            })
        }
    };
    grab_tickets::finish();
    exit
}
