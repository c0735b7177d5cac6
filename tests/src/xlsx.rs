//! Reading a workbook the way someone else's program would: openpyxl, from
//! PyPI, pinned, in a virtual environment of its own under target/ (made
//! once, on first use).

use std::path::PathBuf;

use serde_json::Value;
use tokio::process::Command;
use tokio::sync::OnceCell;

const OPENPYXL: &str = "3.1.5";

const READER: &str = r#"
import datetime, json, sys
import openpyxl
book = openpyxl.load_workbook(sys.argv[1])
out = []
for ws in book.worksheets:
    rows = []
    for row in ws.iter_rows(values_only=True):
        rows.append([v.isoformat() if isinstance(v, (datetime.datetime, datetime.date)) else v for v in row])
    formats = [c.number_format for c in ws[2]] if ws.max_row >= 2 else []
    widths = {k: d.width for k, d in ws.column_dimensions.items()}
    out.append({"name": ws.title, "freeze": ws.freeze_panes, "rows": rows,
                "formats": formats, "widths": widths})
print(json.dumps(out, ensure_ascii=False))
"#;

/// The workspace's target directory (next to the test binary's).
fn target() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .expect("the target directory")
        .to_path_buf()
}

async fn python() -> &'static PathBuf {
    static PYTHON: OnceCell<PathBuf> = OnceCell::const_new();
    PYTHON
        .get_or_init(|| async {
            let venv = target().join(format!("venv-openpyxl-{OPENPYXL}"));
            let python = venv.join("bin").join("python");
            if !python.exists() {
                let made = Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .await
                    .expect("python3 -m venv");
                assert!(made.success(), "could not make {}", venv.display());
                let installed = Command::new(venv.join("bin").join("pip"))
                    .args(["install", "--quiet", "--disable-pip-version-check"])
                    .arg(format!("openpyxl=={OPENPYXL}"))
                    .status()
                    .await
                    .expect("pip install openpyxl");
                assert!(installed.success(), "could not install openpyxl");
            }
            python
        })
        .await
}

/// A workbook's sheets as openpyxl reads them: `[{"name", "freeze", "rows":
/// [[cell, …], …], "formats": [number format of row 2's cells], "widths"}]`,
/// dates as ISO 8601 text.
pub async fn read(workbook: &[u8]) -> Value {
    let python = python().await;
    let file = std::env::temp_dir().join(format!("lianxi-{}.xlsx", uuid::Uuid::new_v4()));
    std::fs::write(&file, workbook).expect("write the workbook");
    let out = Command::new(python)
        .args(["-c", READER])
        .arg(&file)
        .output()
        .await
        .expect("run openpyxl");
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "openpyxl could not read the workbook: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the reader's JSON")
}
