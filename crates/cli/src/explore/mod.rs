//! Terminal clients of the query API: `traces`, `trace`, `sessions`, `session`, `logs`, `tail`.

#[derive(clap::Args)]
pub struct TracesArgs {}

pub async fn traces(_args: TracesArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}

#[derive(clap::Args)]
pub struct TraceArgs {}

pub async fn trace(_args: TraceArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}

#[derive(clap::Args)]
pub struct SessionsArgs {}

pub async fn sessions(_args: SessionsArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}

#[derive(clap::Args)]
pub struct SessionArgs {}

pub async fn session(_args: SessionArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}

#[derive(clap::Args)]
pub struct LogsArgs {}

pub async fn logs(_args: LogsArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}

#[derive(clap::Args)]
pub struct TailArgs {}

pub async fn tail(_args: TailArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
