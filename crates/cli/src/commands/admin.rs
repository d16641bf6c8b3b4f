//! `tocsin admin`: node administration done offline, against the node's database.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use tocsin_server::Config;
use tocsin_server::node::config::Partial;
use tocsin_store::Store;

/// Arguments of `tocsin admin token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The node's data folder [default: ./tocsin-data].
    #[arg(long, env = "TOCSIN_DATA", value_name = "DIR")]
    data: Option<PathBuf>,

    /// The node's database [default: the SQLite file in the data folder].
    #[arg(long, env = "TOCSIN_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,

    /// The account the token is for; made if it does not exist.
    #[arg(long, value_name = "NAME")]
    account: String,

    /// A role for a new account (repeatable) [default: admin]. For an existing account, the
    /// roles given must be its roles.
    #[arg(long = "role", value_name = "ROLE")]
    roles: Vec<String>,

    /// Days until the token stops working.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u16).range(1..))]
    days: u16,
}

/// Makes a token and prints it, alone, on standard output: the only time it is shown.
pub fn token(args: TokenArgs) -> anyhow::Result<ExitCode> {
    let config = Config::from_partial(Partial { data: args.data, database_url: args.database_url, ..Partial::default() });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the runtime")?;
    let secret = runtime.block_on(async {
        let store = Store::open(&config.database_url).await.context("opening the database")?;
        let existing = store.accounts().await?.into_iter().find(|a| a.name == args.account);
        match existing {
            Some(account) => {
                let mut given = args.roles.clone();
                given.sort();
                let mut has = account.roles.clone();
                has.sort();
                if !args.roles.is_empty() && given != has {
                    bail!(
                        "account {:?} exists with roles {}; leave out --role or give exactly those",
                        account.name,
                        account.roles.join(", ")
                    );
                }
                eprintln!("tocsin: new token for existing account {:?}", account.name);
            }
            None => {
                let roles: Vec<&str> = if args.roles.is_empty() { vec!["admin"] } else { args.roles.iter().map(String::as_str).collect() };
                store.create_account(&args.account, &roles, None).await?;
                eprintln!("tocsin: made account {:?} ({})", args.account, roles.join(", "));
            }
        }
        let token = store.create_token(&args.account, i64::from(args.days) * 86_400).await?;
        store.close().await;
        anyhow::Ok(token.secret)
    })?;
    writeln!(std::io::stdout(), "{secret}").context("writing the token")?;
    Ok(ExitCode::SUCCESS)
}
