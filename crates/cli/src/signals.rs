//! SIGINT and SIGTERM stop a run cleanly: the first stops after the running revision (or
//! rolls it back where it runs in a transaction), a second interrupts whatever runs.

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use strata::CancelHandle;

pub fn install(cancel: CancelHandle, quiet: bool) {
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        for (n, _) in signals.forever().enumerate() {
            if !quiet {
                if n == 0 {
                    eprintln!("strata: stopping (a revision in a transaction is rolled back; press Ctrl-C again to abort a running non-transactional one)");
                } else {
                    eprintln!("strata: aborting the running statement");
                }
            }
            cancel.cancel();
        }
    });
}
