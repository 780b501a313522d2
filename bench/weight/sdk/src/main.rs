use pubnub_presence::{Config, PubNub};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), pubnub_presence::Error> {
    let origin = std::env::args().nth(1).unwrap_or_else(|| "http://127.0.0.1:8090".into());
    let pubnub = PubNub::new(Config::new("demo").user_id("weight").origin(origin));
    let result = pubnub.here_now().channels("lobby").await?;
    println!("{}", result.total_occupancy);
    Ok(())
}
