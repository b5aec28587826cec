//! `sightline keys create|list|revoke`: against a running server through the API (`--url` or
//! `SIGHTLINE_URL`, with an admin key), or against the store directly. A store flag
//! (`--data-dir`, `--store`, `--clickhouse-url`, `--init`) picks the store even when
//! `SIGHTLINE_URL` is set. These commands never create an embedded store by accident: its
//! database must already exist, unless `keys create --init` makes the first key of a new one.

use reqwest::Method;
use serde_json::json;
use sightline_core::time::{Clock, SystemClock};
use sightline_server::api::shapes::{ApiKey, CreatedKey, Page};
use sightline_server::app::config::StoreChoice;
use sightline_server::auth::{self, Role, KEY_CACHE_TTL};
use sightline_store::{StoredKey, DEFAULT_PROJECT};

use crate::explore::args::{Conn, Params};
use crate::explore::client::Client;
use crate::explore::fmt;
use crate::explore::table::{Align, Table};
use crate::serve::{load, open_configured, StoreArgs};

#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Create a key pair for a project (created if missing). The secret is printed once.
    #[command(after_help = AFTER_HELP)]
    Create(CreateArgs),
    /// List keys: the start of each public key, project, role, created, revoked (never secrets).
    #[command(after_help = AFTER_HELP)]
    List(ListArgs),
    /// Revoke a key for good, by its public key or the prefix `keys list` shows.
    #[command(after_help = AFTER_HELP)]
    Revoke(RevokeArgs),
}

const AFTER_HELP: &str = "With --url (or SIGHTLINE_URL) and an admin --api-key the command goes \
through a running server and works on that key's project; otherwise it opens the store the \
--data-dir / SIGHTLINE_STORE__DATA_DIR / --config settings name, which must already exist \
(keys create --init makes a new one for the first key).";

/// Where the command works: a server, or the store.
#[derive(clap::Args)]
pub struct Target {
    #[command(flatten)]
    store: StoreArgs,
    /// A running server to go through instead of the store (needs an admin --api-key).
    #[arg(long, env = "SIGHTLINE_URL", hide_env_values = true)]
    url: Option<String>,
    /// An admin key of the server's project, with --url.
    #[arg(long, env = "SIGHTLINE_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Print JSON (the API's shapes).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct CreateArgs {
    /// Project name: letters, digits, '-', '_' or '.' (through a server: the admin key's own).
    #[arg(long)]
    project: Option<String>,
    /// admin (everything, keys included), member (send telemetry, read, set prices) or
    /// viewer (read only).
    #[arg(long, default_value = "admin")]
    role: String,
    /// Create the embedded store if its database does not exist yet (the very first key).
    #[arg(long)]
    init: bool,
    #[command(flatten)]
    target: Target,
}

#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: Target,
}

#[derive(clap::Args)]
pub struct RevokeArgs {
    /// The public key, or a start of it no other key shares (the prefix `keys list` shows).
    key: String,
    #[command(flatten)]
    target: Target,
}

pub async fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    crate::explore::finish(match cmd {
        KeysCommand::Create(a) => create(a).await,
        KeysCommand::List(a) => list(a).await,
        KeysCommand::Revoke(a) => revoke(a).await,
    })
}

/// The server to go through, when the command should (see the module's rule).
fn server(target: &Target, init: bool) -> anyhow::Result<Option<Client>> {
    let url = target.url.as_deref().filter(|u| !u.trim().is_empty());
    match url {
        Some(url) if !init && !target.store.any_given() => Ok(Some(Client::new(&Conn {
            url: url.to_owned(),
            api_key: target.api_key.clone(),
            json: target.json,
        })?)),
        _ => Ok(None),
    }
}

/// Opens the store the settings name. An embedded store whose database is missing is an
/// error naming the directory looked at and how to point elsewhere, unless `init`.
async fn open_existing(store: &StoreArgs, init: bool) -> anyhow::Result<sightline_store::Store> {
    let config = load(store, vec![])?;
    if let StoreChoice::Sqlite = config.store.engine {
        let dir = &config.store.data_dir;
        let db = dir.join(sightline_store::sqlite::DB_FILE);
        if !init && !db.exists() {
            let full = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
            anyhow::bail!(
                "no Sightline store in the data directory {} ({} does not exist; nothing was \
                 created). Point at the server's data directory with --data-dir DIR or \
                 SIGHTLINE_STORE__DATA_DIR, go through a running server with --url URL (or \
                 SIGHTLINE_URL) and an admin --api-key, or pass --init to create a new store \
                 there for its first key",
                full.display(),
                sightline_store::sqlite::DB_FILE
            );
        }
    }
    open_configured(&config).await
}

async fn create(a: CreateArgs) -> anyhow::Result<()> {
    let role = Role::parse(&a.role).ok_or_else(|| {
        anyhow::anyhow!(
            "--role: {:?} is not a role; use admin, member or viewer",
            a.role
        )
    })?;
    let created = match server(&a.target, a.init)? {
        Some(client) => create_through(&client, a.project.as_deref(), role).await?,
        None => {
            let project = a.project.as_deref().ok_or_else(|| {
                anyhow::anyhow!(
                    "--project: name the project the key is for, e.g. --project checkout-agents"
                )
            })?;
            let opened = open_existing(&a.target.store, a.init).await?;
            let result = async {
                let db = opened.engine();
                let first = !db.has_keys().await?;
                let now = SystemClock.now_ns();
                let key = auth::create_key(db.as_ref(), project, role, now).await?;
                if first && key.project_name != DEFAULT_PROJECT {
                    eprintln!("{}", FIRST_KEY_WARNING);
                }
                Ok::<_, anyhow::Error>(CreatedKey::from(&key))
            }
            .await;
            opened.shutdown().await;
            result?
        }
    };
    if a.target.json {
        println!("{}", serde_json::to_string(&created)?);
    } else {
        print!("{}", created_text(&created));
    }
    Ok(())
}

/// Said on stderr when the first key is made: it ends anonymous access.
const FIRST_KEY_WARNING: &str = "warning: this is the first key. From now on every request \
needs a key, and what was sent without one (e.g. by `sightline demo` before any key existed) \
stays in project `default`, which only a key of that project can read: make one with \
`sightline keys create --project default` to keep it reachable.";

/// `POST /api/v1/keys`; a `--project` other than the admin key's own is refused before.
async fn create_through(
    client: &Client,
    project: Option<&str>,
    role: Role,
) -> anyhow::Result<CreatedKey> {
    if let Some(wanted) = project {
        let own = list_through(client).await?;
        if let Some(k) = own.iter().find(|k| k.project != wanted) {
            anyhow::bail!(
                "--project: the key given belongs to project {:?}, and through a server keys are \
                 made in the key's own project; leave --project out, use an admin key of \
                 {wanted:?}, or give --data-dir to work on the store directly",
                k.project
            );
        }
    }
    let body = json!({ "role": role.as_str() });
    let answer = client
        .call(Method::POST, &["api", "v1", "keys"], Some(&body))
        .await?;
    read_answer(&answer, "POST /api/v1/keys")
}

async fn list_through(client: &Client) -> anyhow::Result<Vec<ApiKey>> {
    let segments = ["api", "v1", "keys"];
    let (_, value) = client.get(&segments, &Params::new()).await?;
    let page: Page<ApiKey> = crate::explore::parse(&segments, value)?;
    Ok(page.data)
}

fn read_answer<T: serde::de::DeserializeOwned>(body: &str, route: &str) -> anyhow::Result<T> {
    serde_json::from_str(body).map_err(|e| {
        anyhow::anyhow!("the answer of {route} is not as docs/api.md says ({e}); try --json")
    })
}

async fn list(a: ListArgs) -> anyhow::Result<()> {
    let keys = match server(&a.target, false)? {
        Some(client) => list_through(&client).await?,
        None => {
            let opened = open_existing(&a.target.store, false).await?;
            let listed = opened.engine().list_keys(None).await;
            opened.shutdown().await;
            listed?.iter().map(ApiKey::from).collect()
        }
    };
    if a.target.json {
        println!("{}", serde_json::to_string(&Page::new(keys, None))?);
    } else {
        print!("{}", keys_table(&keys));
    }
    Ok(())
}

async fn revoke(a: RevokeArgs) -> anyhow::Result<()> {
    let (revoked, when) = match server(&a.target, false)? {
        Some(client) => {
            let answer = client
                .call(Method::DELETE, &["api", "v1", "keys", &a.key], None)
                .await?;
            let key: ApiKey = read_answer(&answer, "DELETE /api/v1/keys/{key}")?;
            let when = format!(
                "that server refuses it now, other servers on its store within {} s",
                KEY_CACHE_TTL.as_secs()
            );
            (key, when)
        }
        None => {
            let opened = open_existing(&a.target.store, false).await?;
            let now = SystemClock.now_ns();
            let result: anyhow::Result<StoredKey> = async {
                let db = opened.engine();
                Ok(auth::revoke_key(db.as_ref(), None, &a.key, now).await?)
            }
            .await;
            opened.shutdown().await;
            let when = format!(
                "servers on this store refuse it within {} s",
                KEY_CACHE_TTL.as_secs()
            );
            (ApiKey::from(&result?), when)
        }
    };
    if a.target.json {
        println!("{}", serde_json::to_string(&revoked)?);
    } else {
        println!(
            "revoked {} (project {}, role {}): {when}",
            revoked.prefix, revoked.project, revoked.role
        );
    }
    Ok(())
}

/// What `keys create` prints for people.
fn created_text(k: &CreatedKey) -> String {
    format!(
        "project:    {}\nrole:       {}\npublic key: {}\nsecret key: {}\n\n\
         The secret is shown once; only its hash is stored. Send it as\n  \
         Authorization: Bearer {}\nor, like the Langfuse SDK, as Basic auth with public:secret.\n",
        k.project, k.role, k.public_key, k.secret_key, k.secret_key
    )
}

/// The key list for people: prefixes only, never secrets.
fn keys_table(keys: &[ApiKey]) -> String {
    let mut t = Table::new(&[
        ("PREFIX", Align::Left),
        ("PROJECT", Align::Left),
        ("ROLE", Align::Left),
        ("STATUS", Align::Left),
        ("CREATED", Align::Left),
        ("REVOKED", Align::Left),
    ]);
    for k in keys {
        t.row(vec![
            k.prefix.clone(),
            k.project.clone(),
            k.role.clone(),
            k.status.clone(),
            fmt::time(k.created_ns),
            k.revoked_ns.map_or_else(|| "-".to_owned(), fmt::time),
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        keys: KeysCommand,
    }

    fn target(args: &[&str]) -> Target {
        let argv = ["keys", "list"].iter().chain(args);
        match Cli::try_parse_from(argv).unwrap().keys {
            KeysCommand::List(l) => l.target,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_store_flag_wins_over_the_url_and_the_url_picks_the_server() {
        let url = "--url=http://127.0.0.1:1";
        assert!(server(&target(&[url]), false).unwrap().is_some());
        assert!(server(&target(&[url, "--data-dir=/d"]), false)
            .unwrap()
            .is_none());
        assert!(server(&target(&[url, "--store=sqlite"]), false)
            .unwrap()
            .is_none());
        assert!(server(&target(&[url]), true).unwrap().is_none(), "--init");
        assert!(server(&target(&[]), false).unwrap().is_none());
    }

    #[test]
    fn the_list_shows_prefixes_and_never_secrets() {
        let stored = StoredKey {
            public_key: "pk-sl-ABCDEFGH12345678901234567".into(),
            secret_hash: "hash-must-not-show".into(),
            project: sightline_core::ProjectId(2),
            project_name: "checkout".into(),
            role: "viewer".into(),
            created_ns: 1_767_225_600_000_000_000,
            revoked_ns: Some(1_767_312_000_000_000_000),
        };
        let text = keys_table(&[ApiKey::from(&stored)]);
        assert_eq!(
            text,
            "PREFIX          PROJECT   ROLE    STATUS   CREATED              REVOKED\n\
             pk-sl-ABCDEFGH  checkout  viewer  revoked  2026-01-01 00:00:00  2026-01-02 00:00:00\n"
        );
        let json = serde_json::to_string(&ApiKey::from(&stored)).unwrap();
        assert!(
            !json.contains("12345678") && !json.contains("hash"),
            "{json}"
        );
    }
}
