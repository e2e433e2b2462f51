//! Signals: SIGINT/SIGTERM become a cancellation (the first asks sources to stop; the rest of
//! the pipeline then drains and flushes; a second one exits at once), SIGHUP a reload request.
//!
//! Only sources watch the token; every later stage ends when its input closes.

use tokio_util::sync::CancellationToken;

/// Exit code for a second signal that cut the drain short (128 + SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Spawns the signal watcher. The returned token is cancelled on the first signal.
pub fn watch_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    use tokio::signal::unix::{SignalKind, signal};
    // Both streams are registered before this returns, so no signal slips between the first and
    // the second wait.
    let streams = signal(SignalKind::terminate()).and_then(|t| Ok((t, signal(SignalKind::interrupt())?)));
    let (mut term, mut int) = match streams {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot watch signals; stop with SIGKILL");
            return token;
        }
    };
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        t.cancel();
        tracing::info!("shutdown requested; draining in-flight pages (signal again to exit now)");
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::warn!("second signal; exiting without draining");
        std::process::exit(EXIT_INTERRUPTED);
    });
    token
}

/// Turns SIGHUP into reload requests (`run` only; several signals before one is handled count as
/// one). Without a handler SIGHUP would end the process, as it does for `once`.
pub fn watch_reload() -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(mut hup) => {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    if let Err(tokio::sync::mpsc::error::TrySendError::Closed(())) = tx.try_send(()) {
                        return;
                    }
                }
            });
        }
        Err(e) => tracing::error!(error = %e, "cannot watch SIGHUP; reload by restarting"),
    }
    rx
}
