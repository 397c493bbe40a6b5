//! The benchmark's baseline: a minimal axum server answering every POST with one fixed body the
//! size of a 20-SKU stocks answer. `bench/stock.sh` loads it next to `mallcheck serve`.
//! Prints its base URL as the first line on stdout, like `mallcheck serve`.

use std::io::Write;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;

/// A 20-SKU stocks answer, built once.
fn fixed_body() -> String {
    let entries: Vec<String> = (0..20)
        .map(|n| {
            format!(
                r#"{{"sku":"1259210{n:02}","area_id":"120101","num":{},"desc":"有货"}}"#,
                100 + n
            )
        })
        .collect();
    format!(
        r#"{{"success":true,"desc":"成功 ok","result":[{}]}}"#,
        entries.join(",")
    )
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let body: &'static str = Box::leak(fixed_body().into_boxed_str());
        let app = Router::new().fallback(post(move || async move {
            (
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                body,
            )
                .into_response()
        }));
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "http://{}", listener.local_addr()?)?;
        stdout.flush()?;
        axum::serve(listener, app).await
    })
}
