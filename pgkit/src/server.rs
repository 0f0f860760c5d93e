//! Finding a PostgreSQL server: an explicit URL, else the local server on 127.0.0.1:5432, else a
//! throwaway cluster. A [`Server`] holds connection *configurations*, never a connection, so one
//! value can be shared by many tokio runtimes (each `#[tokio::test]` has its own).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio_postgres::Config;

use crate::cluster::Cluster;
use crate::util::{self, connect_within, url_of};
use crate::{Error, Result};

/// How long a probe of 127.0.0.1:5432 may take per user.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The maintenance database, used for `CREATE`/`DROP DATABASE` and cluster-wide locks.
const MAINTENANCE_DB: &str = "postgres";

/// Where [`Server::discover`] looks for a server.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    /// An explicit server (the CLI's `--dev-url`): used as is, an error if unreachable. Its
    /// database (default `postgres`) becomes the maintenance database.
    pub url: Option<String>,
    /// Skip the URL and the local server and always start a throwaway cluster.
    pub force_throwaway: bool,
}

/// A reachable PostgreSQL server on which databases can be created.
pub struct Server {
    /// Connect configuration of the maintenance database.
    admin: Config,
    /// Whether the server runs on this machine (process ids in database names mean something).
    local: bool,
    /// The cluster we started, stopped and deleted when the server is dropped.
    cluster: Option<Cluster>,
    /// Leftover databases of dead processes are swept once per server.
    pub(crate) swept: OnceCell<()>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("url", &self.describe())
            .field("throwaway", &self.is_throwaway())
            .finish()
    }
}

/// The process-wide server of [`Server::shared`].
static SHARED: OnceCell<Arc<Server>> = OnceCell::const_new();

impl Server {
    /// Process-wide shared server for tests: `DATABASE_URL`, else 127.0.0.1:5432, else a
    /// throwaway cluster (which is stopped and deleted when the process exits).
    pub async fn shared() -> Result<Arc<Server>> {
        SHARED
            .get_or_try_init(|| async {
                let url = std::env::var("DATABASE_URL")
                    .ok()
                    .filter(|u| !u.trim().is_empty());
                let opts = DiscoverOptions {
                    url,
                    force_throwaway: false,
                };
                Server::discover(&opts).await.map(Arc::new)
            })
            .await
            .cloned()
    }

    /// Finds a server as `opts` says: the explicit URL (which must answer), else 127.0.0.1:5432
    /// if it answers (user `postgres`, then the OS user; trust authentication), else a throwaway
    /// cluster.
    pub async fn discover(opts: &DiscoverOptions) -> Result<Server> {
        if opts.force_throwaway {
            return Server::throwaway().await;
        }
        if let Some(url) = &opts.url {
            let mut admin: Config = url.parse().map_err(|source| Error::InvalidUrl { source })?;
            if admin.get_dbname().is_none() {
                admin.dbname(MAINTENANCE_DB);
            }
            if admin.get_user().is_none() {
                if let Some(user) = util::current_user_name() {
                    admin.user(user);
                }
            }
            if admin.get_connect_timeout().is_none() {
                admin.connect_timeout(Duration::from_secs(10));
            }
            connect_within(&admin, Duration::from_secs(30)).await?;
            let local = util::is_local(&admin);
            return Ok(Server {
                admin,
                local,
                cluster: None,
                swept: OnceCell::new(),
            });
        }
        if let Some(admin) = probe_local(5432).await {
            return Ok(Server {
                admin,
                local: true,
                cluster: None,
                swept: OnceCell::new(),
            });
        }
        Server::throwaway().await
    }

    /// Starts a throwaway cluster.
    async fn throwaway() -> Result<Server> {
        let cluster = Cluster::start().await?;
        let admin = cluster.config(MAINTENANCE_DB);
        Ok(Server {
            admin,
            local: true,
            cluster: Some(cluster),
            swept: OnceCell::new(),
        })
    }

    /// Connect configuration of the maintenance database (usually `postgres`).
    pub fn admin_config(&self) -> Config {
        self.admin.clone()
    }

    /// Whether this is a throwaway cluster pgkit started (and will stop).
    pub fn is_throwaway(&self) -> bool {
        self.cluster.is_some()
    }

    /// The data directory's parent of a throwaway cluster (deleted with it), else `None`.
    pub fn throwaway_dir(&self) -> Option<&std::path::Path> {
        self.cluster.as_ref().map(Cluster::dir)
    }

    /// Whether the server is on this machine (loopback, unix socket or throwaway).
    pub fn is_local(&self) -> bool {
        self.local
    }

    /// The maintenance database as a URL without password, for messages.
    pub fn describe(&self) -> String {
        url_of(&self.admin)
    }
}

/// 127.0.0.1:`port` as user `postgres`, then as the OS user, if either gets in.
async fn probe_local(port: u16) -> Option<Config> {
    let mut users = vec!["postgres".to_owned()];
    if let Some(me) = util::current_user_name() {
        if me != "postgres" {
            users.push(me);
        }
    }
    for user in users {
        let mut config = Config::new();
        config
            .host("127.0.0.1")
            .port(port)
            .user(&user)
            .dbname(MAINTENANCE_DB)
            .connect_timeout(PROBE_TIMEOUT);
        match connect_within(&config, PROBE_TIMEOUT).await {
            Ok(_client) => {
                config.connect_timeout(Duration::from_secs(10));
                return Some(config);
            }
            // Nothing listens: no point trying another user.
            Err(Error::ConnectTimeout { .. }) => return None,
            Err(Error::Connect { source, .. }) if source.as_db_error().is_none() => {
                if std::error::Error::source(&source)
                    .and_then(|s| s.downcast_ref::<std::io::Error>())
                    .is_some()
                {
                    return None;
                }
            }
            Err(_) => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shared_server_answers() {
        let server = Server::shared().await.unwrap();
        let client = crate::util::connect(&server.admin_config()).await.unwrap();
        let row = client.query_one("SELECT 1::int4", &[]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), 1);
        assert!(
            server.describe().starts_with("postgres://"),
            "{}",
            server.describe()
        );
    }

    #[tokio::test]
    async fn explicit_url_must_answer() {
        let opts = DiscoverOptions {
            url: Some("postgres://nobody:hunter2@127.0.0.1:1/postgres".to_owned()),
            force_throwaway: false,
        };
        let err = Server::discover(&opts).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("127.0.0.1:1"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[tokio::test]
    async fn probe_gives_up_quickly_when_nothing_listens() {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let started = std::time::Instant::now();
        assert!(probe_local(port).await.is_none());
        assert!(started.elapsed() < PROBE_TIMEOUT, "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn bad_url_is_an_error() {
        let opts = DiscoverOptions {
            url: Some("postgres://[::1".to_owned()),
            ..Default::default()
        };
        assert!(matches!(
            Server::discover(&opts).await,
            Err(Error::InvalidUrl { .. })
        ));
    }
}
