//! The presence server's dashboard in a real headless Chromium, driven over
//! WebDriver (chromedriver; HTTP + JSON, so no client library beyond
//! reqwest). Users are made present with the SDK; the test reads the DOM.
//! The screenshot (the path in `DASHBOARD_SCREENSHOT`, else
//! target/dashboard.png) shows every panel, a fault rule in force.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them),
//! so it is ignored by `cargo test --workspace`:
//!
//! ```sh
//! cargo test -p presence-tests --test dashboard_browser -- --ignored
//! DASHBOARD_SCREENSHOT=$PWD/docs/dashboard.png cargo test -p presence-tests --test dashboard_browser -- --ignored
//! ```

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use presence_server::{Clock, ManualClock, PresenceServer, ServerConfig};
use pubnub_presence::{Config, PubNub};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One chromedriver process and one browser session.
struct Browser {
    http: reqwest::Client,
    session: String,
    driver: Child,
}

impl Browser {
    async fn start() -> Browser {
        for path in [CHROMIUM, CHROMEDRIVER] {
            assert!(std::path::Path::new(path).exists(), "{path} is missing: apt-get install chromium chromium-driver");
        }
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        // Its own process group, so that Drop can end the browsers it started too.
        let driver = Command::new(CHROMEDRIVER)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = presence_tests::plain_http_client();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The flags the machine's notes give for a closed network.
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1400,1500",
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let mut browser = Browser { http, session: String::new(), driver };
        let created = browser.call("POST", &format!("{base}/session"), capabilities).await;
        browser.session = format!("{base}/session/{}", created["sessionId"].as_str().expect("a session id"));
        browser
    }

    async fn call(&self, method: &str, url: &str, body: Value) -> Value {
        let request = match method {
            "POST" => self.http.post(url).header("content-type", "application/json").body(body.to_string()),
            "DELETE" => self.http.delete(url),
            _ => self.http.get(url),
        };
        let text = request.send().await.expect("chromedriver answers").text().await.unwrap();
        let reply: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("chromedriver said {text}"));
        assert!(reply["value"]["error"].is_null(), "WebDriver error: {reply}");
        reply["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.call("POST", &format!("{}/url", self.session), json!({ "url": url })).await;
    }

    /// Runs `body` (a function body that returns a value) in the page.
    async fn run(&self, body: &str) -> Value {
        self.call("POST", &format!("{}/execute/sync", self.session), json!({"script": body, "args": []})).await
    }

    /// Waits (at most 10 s) until `condition` (a JS expression) is true in the page.
    async fn until(&self, condition: &str, what: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if self.run(&format!("return Boolean({condition});")).await == json!(true) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                let page = self.run("return document.body.innerText;").await;
                panic!("timed out waiting for {what}; the page shows:\n{}", page.as_str().unwrap_or_default());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sets the value of the form field or filter that `selector` finds, as typing would.
    async fn fill(&self, selector: &str, value: &str) {
        let script = format!(
            "const field = document.querySelector({selector:?}); field.value = {value:?}; \
             field.dispatchEvent(new Event('input')); field.dispatchEvent(new Event('change')); return null;"
        );
        self.run(&script).await;
    }

    async fn click(&self, selector: &str) {
        self.run(&format!("document.querySelector({selector:?}).click(); return null;")).await;
    }

    async fn text(&self, selector: &str) -> String {
        let script =
            format!("const node = document.querySelector({selector:?}); return node.innerText ?? node.textContent;");
        let text = self.run(&script).await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// Ends the session: chromedriver closes the browser.
    async fn quit(self) {
        self.call("DELETE", &self.session, Value::Null).await;
    }

    async fn screenshot(&self) -> Vec<u8> {
        let encoded = self.call("GET", &format!("{}/screenshot", self.session), Value::Null).await;
        base64_decode(encoded.as_str().expect("base64 PNG"))
    }
}

impl Drop for Browser {
    /// Also after a failed test: the driver and every browser process it
    /// started (one process group) end, none is left running.
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        other => panic!("not base64: {other}"),
    };
    let bytes: Vec<u8> = text.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= u32::from(value(*c)) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

fn user(server: &PresenceServer, uuid: &str) -> PubNub {
    PubNub::new(Config::new("demo").user_id(uuid).origin(server.url()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver (Debian's chromium, chromium-driver)"]
async fn the_dashboard_shows_presence_live_in_a_real_browser() {
    // The server's clock starts 9 minutes ago, so that lobby has some
    // occupancy history to chart; it catches up with the wall clock below.
    let clock = ManualClock::new(ManualClock::starting_now().now_millis() - 9 * 60_000);
    let server = PresenceServer::start(ServerConfig::default().with_clock(clock.clone())).await.unwrap();
    let browser = Browser::start().await;
    browser.open(&server.url()).await;

    // An empty server says so, with the command that makes someone present.
    browser.until("document.getElementById('nobody')", "the empty state").await;
    let hint = browser.run("return document.getElementById('nobody').innerText;").await;
    assert!(hint.as_str().unwrap().contains("/heartbeat?uuid=alice"), "{hint}");

    let (alice, bob, carol) = (user(&server, "alice"), user(&server, "bob"), user(&server, "carol"));
    alice.heartbeat().channels(["lobby", "den"]).state(json!({"lobby": {"mood": "happy"}})).await.unwrap();
    bob.heartbeat().channels("lobby").await.unwrap();
    alice.add_channel_to_channel_group().channel_group("friends").channels(["lobby", "den"]).await.unwrap();
    // Erin comes 2 minutes later and stays 3; alice and bob keep heartbeating.
    let erin = user(&server, "erin");
    for (minutes, erin_here) in [(2, true), (3, false), (4, false)] {
        clock.advance(Duration::from_secs(minutes * 60));
        alice.heartbeat().channels(["lobby", "den"]).await.unwrap();
        bob.heartbeat().channels("lobby").await.unwrap();
        if erin_here {
            erin.heartbeat().channels("lobby").await.unwrap();
        } else {
            erin.leave().channels("lobby").await.unwrap();
        }
    }

    browser
        .until("document.querySelector('[data-channel=\"lobby\"] .count')?.textContent === '2'", "lobby with 2")
        .await;
    browser.until("document.querySelector('[data-group=\"friends\"]')?.innerText.includes('den')", "the group").await;
    browser.run("document.querySelector('[data-channel=\"lobby\"]').click(); return null;").await;
    browser.until("document.querySelector('#occupants [data-uuid=\"bob\"]')", "lobby's occupants").await;
    let alice_row = browser.run("return document.querySelector('#occupants [data-uuid=\"alice\"]').innerText;").await;
    assert!(alice_row.as_str().unwrap().contains("\"mood\": \"happy\""), "state as pretty JSON: {alice_row}");

    // Live, without reload: alice changes her state, carol joins and leaves.
    alice.set_state().channels("lobby").state(json!({"mood": "busy", "level": 7})).await.unwrap();
    browser
        .until(
            "document.querySelector('#events [data-action=\"state-change\"][data-uuid=\"alice\"]')",
            "alice's state line",
        )
        .await;
    browser
        .until(
            "document.querySelector('#occupants [data-uuid=\"alice\"]').innerText.includes('busy')",
            "alice's new state",
        )
        .await;
    carol.heartbeat().channels("lobby").await.unwrap();
    browser
        .until("document.querySelector('#events [data-action=\"join\"][data-uuid=\"carol\"]')", "carol's join line")
        .await;
    browser.until("document.querySelector('#occupants [data-uuid=\"carol\"]')", "carol in the list").await;
    browser
        .until("document.querySelector('[data-channel=\"lobby\"] .count').textContent === '3'", "lobby with 3")
        .await;

    // Occupancy over time: lobby had 2 (alice and bob in one millisecond),
    // 3 with erin, 2 when she left, 3 with carol: a step line of 4 points.
    let lobby_chart = "#charts [data-chart-channel=\"lobby\"]";
    browser.until(&format!("document.querySelector('{lobby_chart}')?.dataset.points === '4'"), "lobby's chart").await;
    let line =
        browser.run(&format!("return document.querySelector('{lobby_chart} path.line').getAttribute('d');")).await;
    let steps = line.as_str().unwrap().matches(" V").count();
    assert_eq!(steps, 3, "a step line through 2, 3, 2 and 3 occupants: {line}");
    let axis = browser.text(&format!("{lobby_chart} svg")).await;
    assert!(axis.contains("−10 min") && axis.contains("now"), "a labelled time axis: {axis}");

    faults_and_requests(&server, &browser).await;
    let shot = browser.screenshot().await;
    remove_the_fault_rule(&server, &browser).await;

    clock.advance(Duration::from_secs(1)); // her leave is a point of its own
    carol.leave().channels("lobby").await.unwrap();
    browser
        .until("document.querySelector('#events [data-action=\"leave\"][data-uuid=\"carol\"]')", "carol's leave line")
        .await;
    browser.until("!document.querySelector('#occupants [data-uuid=\"carol\"]')", "carol gone from the list").await;
    let newest = browser.run("return document.querySelector('#events li').dataset.action;").await;
    assert_eq!(newest, json!("leave"), "newest first");
    browser.until(&format!("document.querySelector('{lobby_chart}').dataset.points === '5'"), "lobby's leave").await;

    let path = std::env::var("DASHBOARD_SCREENSHOT")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target/dashboard.png").to_owned());
    assert_eq!(&shot[..8], b"\x89PNG\r\n\x1a\n");
    if let Some(dir) = std::path::Path::new(&path).parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&path, &shot).unwrap();
    println!("screenshot: {path} ({} bytes)", shot.len());

    // Scale: 10,000 occupants page through here_now; 1,000 channels list.
    // One HTTP client for the crowd: 10,000 SDK clients, one connection pool.
    let shared = reqwest::Client::new();
    let crowd = user(&server, "crowd");
    let mut tasks = Vec::new();
    for i in 0..10_000 {
        let config =
            Config::new("demo").user_id(format!("fan-{i:05}")).origin(server.url()).http_client(shared.clone());
        let pubnub = PubNub::new(config);
        tasks.push(tokio::spawn(async move { pubnub.heartbeat().channels("stadium").await }));
        if tasks.len() == 200 {
            for task in tasks.drain(..) {
                task.await.unwrap().unwrap();
            }
        }
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for i in 0..1_000 {
        crowd.heartbeat().channels(format!("room-{i:04}")).await.unwrap();
    }
    browser
        .until("document.querySelector('[data-channel=\"stadium\"] .count')?.textContent === '10000'", "the stadium")
        .await;
    browser.until("document.querySelectorAll('#channels li').length === 1003", "1,003 channels listed").await;
    browser.run("document.querySelector('[data-channel=\"stadium\"]').click(); return null;").await;
    browser.until("document.getElementById('page').textContent === 'page 1 of 100'", "the first page").await;
    let rows = browser.run("return document.querySelectorAll('#occupants li').length;").await;
    assert_eq!(rows, json!(100), "one page of 100 rendered, not 10,000");
    browser.run("document.getElementById('next').click(); return null;").await;
    browser.until("document.getElementById('page').textContent === 'page 2 of 100'", "the second page").await;
    browser.until("document.querySelector('#occupants [data-uuid=\"fan-00100\"]')", "page 2's first fan").await;

    // Unreachable: the banner says so and keeps retrying.
    server.shutdown().await;
    browser.until("document.getElementById('banner').classList.contains('shown')", "the offline banner").await;
    let banner = browser.run("return document.getElementById('banner').innerText;").await;
    assert!(banner.as_str().unwrap().contains("Server unreachable"), "{banner}");
    browser.quit().await;
}

/// The fault panel and the request log: a rule added through the form is
/// listed, its faults show in the live request log (highlighted, and the
/// filters narrow the log), and a rule the server refuses shows its message.
async fn faults_and_requests(server: &PresenceServer, browser: &Browser) {
    browser.until("!document.getElementById('add-fault').hidden", "the fault form").await;
    browser.until("document.querySelector('#requests tbody tr')", "the request log").await;
    let add_rule = async |rate: &str| {
        browser.fill("#add-fault [name=endpoint]", "here_now").await;
        browser.fill("#add-fault [name=uuid]", "flaky").await;
        browser.fill("#add-fault [name=limit]", "rate").await;
        browser.fill("#add-fault [name=amount]", rate).await;
        browser.fill("#add-fault [name=effect]", "status").await;
        browser.fill("#add-fault [name=number]", "503").await;
        browser.click("#add-fault button[type=submit]").await;
    };
    add_rule("1.5").await;
    browser.until("document.getElementById('fault-error').innerText.includes('between 0 and 1')", "the 400").await;
    add_rule("1").await;
    browser.until("document.querySelector('#fault-rules li[data-uuid=\"flaky\"]')", "the rule listed").await;
    assert_eq!(browser.text("#fault-error").await, "", "a rule taken clears the message");
    let rule = browser.text("#fault-rules li[data-uuid=\"flaky\"]").await;
    assert!(rule.contains("status 503") && rule.contains("here_now") && rule.contains("100%"), "{rule}");

    let http = presence_tests::plain_http_client();
    let url = |path: &str| format!("{}{path}", server.url());
    for _ in 0..3 {
        let answer = http.get(url("/v2/presence/sub-key/demo/channel/lobby?uuid=flaky")).send().await.unwrap();
        assert_eq!(answer.status(), 503, "the rule applies");
    }
    let answer = http.get(url("/v2/presence/sub-key/demo/channel/den/heartbeat?uuid=dave")).send().await.unwrap();
    assert_eq!(answer.status(), 200);

    // Live, newest first, faulted rows highlighted.
    browser
        .until("document.querySelectorAll('#requests tr.faulted[data-uuid=\"flaky\"]').length === 3", "3 faults")
        .await;
    browser.until("document.querySelector('#requests tr[data-uuid=\"dave\"]')", "dave's heartbeat").await;
    let newest = browser.run("return document.querySelector('#requests tbody tr').dataset.uuid;").await;
    assert_eq!(newest, json!("dave"), "newest first");
    let faulted = browser.text("#requests tr.faulted").await;
    assert!(faulted.contains("status 503") && faulted.contains("here_now") && faulted.contains("lobby"), "{faulted}");
    let own = "document.querySelector('#requests tr[data-uuid=\"presence-dashboard\"]')";
    browser.until(&format!("!{own}"), "the page's own polling hidden").await;
    browser.run("document.getElementById('filter-own').click(); return null;").await;
    browser.until(own, "the page's own polling shown").await;
    browser.run("document.getElementById('filter-own').click(); return null;").await;

    // Filters: uuid, endpoint, channel.
    let rows = "[...document.querySelectorAll('#requests tbody tr[data-seq]')]";
    browser.fill("#filter-uuid", "flak").await;
    browser
        .until(&format!("{rows}.length === 3 && {rows}.every((r) => r.dataset.uuid === 'flaky')"), "uuid filter")
        .await;
    browser.fill("#filter-uuid", "").await;
    browser.fill("#filter-endpoint", "heartbeat").await;
    browser
        .until(&format!("{rows}.length > 0 && {rows}.every((r) => r.dataset.endpoint === 'heartbeat')"), "by endpoint")
        .await;
    browser.fill("#filter-channel", "lobby").await;
    browser.until(&format!("{rows}.every((r) => r.innerText.includes('lobby'))"), "by endpoint and channel").await;
    browser.fill("#filter-channel", "den").await;
    browser.until(&format!("{rows}.some((r) => r.dataset.uuid === 'dave')"), "dave on den").await;
    browser.fill("#filter-endpoint", "").await;
    browser.fill("#filter-channel", "").await;
    browser
        .until(
            "document.querySelector('#fault-rules li[data-uuid=\"flaky\"]').innerText.includes('3 injected')",
            "counters",
        )
        .await;
}

/// The rule's remove button ends the faults.
async fn remove_the_fault_rule(server: &PresenceServer, browser: &Browser) {
    browser.click("#fault-rules li[data-uuid=\"flaky\"] button.remove").await;
    browser.until("!document.querySelector('#fault-rules li[data-uuid=\"flaky\"]')", "the rule removed").await;
    let http = presence_tests::plain_http_client();
    let answer = http.get(format!("{}/v2/presence/sub-key/demo/channel/lobby?uuid=flaky", server.url())).send().await;
    assert_eq!(answer.unwrap().status(), 200, "no rule, no fault");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and chromedriver (Debian's chromium, chromium-driver)"]
async fn without_dev_endpoints_the_panels_say_so() {
    let server = PresenceServer::start(ServerConfig::default().with_dev_endpoints(false)).await.unwrap();
    let browser = Browser::start().await;
    browser.open(&server.url()).await;
    browser.until("document.getElementById('faults-unavailable')", "the fault panel's note").await;
    assert!(browser.text("#faults-unavailable").await.contains("not available"));
    assert!(browser.run("return document.getElementById('add-fault').hidden;").await == json!(true), "no form");
    browser
        .until("document.getElementById('requests-unavailable').innerText.includes('not available')", "the log's note")
        .await;
    // The chart works without them.
    user(&server, "alice").heartbeat().channels("lobby").await.unwrap();
    browser.until("document.querySelector('#charts [data-chart-channel=\"lobby\"]')", "lobby's chart").await;
    browser.quit().await;
}
