//! The service manager's side of `run`: systemd's notify protocol (`Type=notify`). READY=1 once the
//! pipeline runs, RELOADING=1 … READY=1 around a SIGHUP reload, STOPPING=1 when shutdown starts,
//! and WATCHDOG=1 at half the `WatchdogSec=` interval while the runtime is alive.
//!
//! Every call is a no-op outside systemd (no `NOTIFY_SOCKET`); a failed notification is logged,
//! never fatal.

use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify the service manager");
    }
}

pub fn ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => notify(&[NotifyState::Reloading, now]),
        Err(_) => notify(&[NotifyState::Reloading]),
    }
}

pub fn stopping() {
    notify(&[NotifyState::Stopping, NotifyState::Status("draining")]);
}

/// Pings the watchdog until `stop` is cancelled, when systemd asked for it (`WATCHDOG_USEC`).
/// The pings run on the async runtime, so a runtime that stops making progress stops them and
/// systemd restarts the service.
pub fn spawn_watchdog(stop: CancellationToken) {
    let Some(every) = sd_notify::watchdog_enabled() else {
        return;
    };
    let every = (every / 2).max(Duration::from_millis(50));
    tracing::info!(interval_ms = every.as_millis() as u64, "watchdog enabled");
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => notify(&[NotifyState::Watchdog]),
            }
        }
    });
}
