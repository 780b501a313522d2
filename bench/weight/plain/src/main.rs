#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let origin = std::env::args().nth(1).unwrap_or_else(|| "http://127.0.0.1:8090".into());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let url = format!("{origin}/v2/presence/sub-key/demo/channel/lobby?limit=1000&uuid=weight&pnsdk=plain");
    let body = client.get(url).send().await?.error_for_status()?.bytes().await?;
    let value: serde_json::Value = serde_json::from_slice(&body)?;
    println!("{}", value["occupancy"]);
    Ok(())
}
