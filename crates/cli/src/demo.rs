//! `sightline demo`: the flags, mapped onto the options of the demo in `sightline-loadgen`,
//! which sends the traffic and prints one line per trace.

use sightline_loadgen::demo::{self, DemoOptions};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// The server's HTTP address (`/v1/traces` and `/v1/logs` are appended).
    #[arg(long, env = "SIGHTLINE_URL", default_value = "http://127.0.0.1:4318")]
    url: String,
    /// Sent as `Authorization: Bearer <key>`.
    #[arg(long, env = "SIGHTLINE_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Stop after this many traces; without it, run until Ctrl-C.
    #[arg(long)]
    traces: Option<u64>,
    /// Traces per second.
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Seed of the generated content (default: a fresh one, so runs never share trace ids).
    #[arg(long)]
    seed: Option<u64>,
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let options = DemoOptions {
        url: args.url,
        api_key: args.api_key,
        traces: args.traces,
        rate: args.rate,
        seed: args.seed,
    };
    demo::run(options, &mut std::io::stdout()).await
}
