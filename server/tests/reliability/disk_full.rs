//! The disk under the SQLite database fills up, then space comes back. The database lives on
//! a small tmpfs the test mounts (it needs root or CAP_SYS_ADMIN, as CI has, and says so
//! loudly otherwise); a filler file takes the rest of the space.

use crate::helpers::*;
use std::{io::Write, path::PathBuf, process::Command};

/// A mounted tmpfs, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let path = std::env::temp_dir().join(format!("miseos-full-disk-{}", std::process::id()));
        std::fs::create_dir_all(&path).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("mount runs");
        assert!(
            mounted.success(),
            "this test mounts a small tmpfs to fill it up: run it as root or with CAP_SYS_ADMIN"
        );
        SmallDisk { path }
    }

    /// Fills what is left of the disk with a file; returns its path.
    fn fill(&self) -> PathBuf {
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).expect("the filler file");
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        let _ = std::fs::remove_dir(&self.path);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_cleanly_keeps_reads_and_loses_nothing() {
    let disk = SmallDisk::mount("4m");
    let url = format!("sqlite://{}?mode=rwc", disk.path.join("miseos.db").display());
    let mut app = spawn_app_with(Db::Sqlite, |config| config.database_url = Some(url)).await;
    let (chef, cook) = (app.token(GORDON).await, app.token(ALI).await);
    let mut acknowledged = vec![app.create_request(&cook, "Before").await];

    let filler = disk.fill();
    let body = app::wire::NewIngredientRequest {
        item_name: "Full".into(),
        quantity: app::wire::Quantity(1.0),
        unit: "kg".into(),
        note: None,
    };
    // A write may still fit in a page SQLite already has; one soon does not.
    let mut refused = None;
    for _ in 0..200 {
        let response = app.post("/api/v1/ingredient-requests", &cook, &body).await;
        if response.status() == 201 {
            acknowledged.push(response.json::<app::wire::IngredientRequest>().await.expect("item").id);
        } else {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("a write fails once the disk is full");
    let message = expect_error(refused, 503, "unavailable").await;
    assert!(!message.to_lowercase().contains("sqlite") && !message.contains("disk"), "nothing internal: {message}");
    // Reads still work.
    assert_eq!(app.snapshot(&chef).await.pending_ingredient_requests, acknowledged.len() as i64);
    assert_eq!(app.get("/api/v1/ingredient-requests", &chef).await.status(), 200);

    std::fs::remove_file(filler).expect("space comes back");
    acknowledged.push(app.create_request(&cook, "After").await);
    for id in &acknowledged {
        assert_eq!(app.get(&format!("/api/v1/ingredient-requests/{id}"), &chef).await.status(), 200, "item {id}");
    }
    assert_eq!(app.snapshot(&chef).await.pending_ingredient_requests, acknowledged.len() as i64);
    println!(
        "disk full (4 MiB tmpfs): writes answered 503 after {} accepted; reads kept working; after freeing space writes resumed, all {} acknowledged items present",
        acknowledged.len() - 1,
        acknowledged.len()
    );
    app.shut_down().await;
}
