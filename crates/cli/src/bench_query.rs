//! Query benchmark: loads spans into a running server, then measures the read API.

#[derive(clap::Args)]
pub struct QueryArgs {}

pub async fn run(_args: QueryArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
