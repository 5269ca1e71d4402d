//! `forge-proxy`: parse the command line, start the backend, serve until SIGINT/SIGTERM, then
//! stop what was started.

use anyhow::Context;
use clap::Parser;
use forge_proxy::{Cli, Proxy, ProxyConfig};
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let default_level = if cli.verbose { "debug" } else { "info" };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let config = match ProxyConfig::from_cli(&cli) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("forge-proxy: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("forge-proxy: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("forge-proxy: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(config: ProxyConfig) -> anyhow::Result<()> {
    let proxy = tokio::select! {
        proxy = Proxy::start(config) => proxy.context("startup failed")?,
        () = shutdown_signal() => {
            // A managed start in progress is dropped here; its child is killed on drop.
            println!("\nShutting down...");
            return Ok(());
        }
    };
    let listener = match proxy.bind().await {
        Ok(listener) => listener,
        Err(error) => {
            proxy.stop().await;
            return Err(error.into());
        }
    };
    let url = match listener.local_addr() {
        Ok(addr) => format!("http://{}:{}", proxy.config().host, addr.port()),
        Err(_) => proxy.config().url(),
    };
    tracing::info!(%url, "proxy ready");
    println!("forge proxy running at {url}");
    println!("  Point your client at {url}/v1/chat/completions (Anthropic: {url}/v1/messages)");
    println!("  Ctrl+C to stop");
    proxy
        .serve(listener, async {
            shutdown_signal().await;
            println!("\nShutting down...");
        })
        .await?;
    Ok(())
}

/// SIGINT (Ctrl+C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl+C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
