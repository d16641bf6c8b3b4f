//! A fresh database of each kind per test: a SQLite file in a temporary folder, and a PostgreSQL
//! database made for the test and dropped after it.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection;

/// The PostgreSQL server tests make their databases on: `TOCSIN_TEST_POSTGRES_URL`, else the
/// local one (trust authentication, user postgres, database test).
fn admin_url() -> String {
    std::env::var("TOCSIN_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh, empty database and what removes it afterwards.
pub enum Fresh {
    /// The folder lives as long as the value.
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres(String, String),
}

impl Fresh {
    pub fn url(&self) -> &str {
        match self {
            Fresh::Sqlite { url, .. } | Fresh::Postgres(url, _) => url,
        }
    }

    pub async fn sqlite() -> Fresh {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("tocsin.db").display());
        Fresh::Sqlite { _dir: dir, url }
    }

    pub async fn postgres() -> Fresh {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!("tocsin_test_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let admin = admin_url();
        let mut conn =
            sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| panic!("PostgreSQL at {admin}: {e} (scripts/test starts one)"));
        // Databases left by test runs that died (a failed test skips its clean-up).
        let old: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'tocsin_test_%'")
            .fetch_all(&mut conn)
            .await
            .expect("list");
        for stale in old {
            let pid = stale.trim_start_matches("tocsin_test_").split('_').next().unwrap_or("");
            if !std::path::Path::new("/proc").join(pid).exists() {
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {stale} WITH (FORCE)")).execute(&mut conn).await.expect("drop stale");
            }
        }
        sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create");
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
        Fresh::Postgres(format!("{base}/{name}"), name)
    }

    /// Drops a PostgreSQL test database (SQLite's folder goes with the value).
    pub async fn remove(self) {
        if let Fresh::Postgres(_, name) = self {
            let mut conn = sqlx::PgConnection::connect(&admin_url()).await.expect("admin connection");
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await.expect("drop");
        }
    }
}

/// Runs `test` on a fresh SQLite and a fresh PostgreSQL database in turn.
#[macro_export]
macro_rules! on_both {
    ($test:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn on_sqlite() {
            let fresh = $crate::helpers::Fresh::sqlite().await;
            $test(&fresh).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn on_postgres() {
            let fresh = $crate::helpers::Fresh::postgres().await;
            $test(&fresh).await;
            fresh.remove().await;
        }
    };
}
