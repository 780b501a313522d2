//! Signature v2 enforcement when the server has a secret key (docs/PROTOCOL.md §4, §2.6).

mod common;

use std::time::Duration;

use common::*;
use presence_server::signature::{parse_query, sign_v2};
use presence_server::{Clock, ServerConfig};

const SECRET: &str = "mySecretKey";
const PUBLISH: &str = "myPublishKey";

async fn signed_server() -> TestServer {
    TestServer::start_with(ServerConfig::default().with_secret_key(SECRET).with_publish_key(PUBLISH)).await
}

/// Appends `timestamp` (from the server clock) and a valid signature to `path?query`.
fn sign(t: &TestServer, path: &str, query: &str) -> String {
    let ts = t.clock.now_millis() / 1000;
    let query = if query.is_empty() { format!("timestamp={ts}") } else { format!("{query}&timestamp={ts}") };
    let sig = sign_v2(SECRET, PUBLISH, "GET", path, &parse_query(&query), "");
    format!("{path}?{query}&signature={sig}")
}

#[tokio::test]
async fn protocol_example_request_is_accepted_verbatim() {
    // docs/PROTOCOL.md §4 presence example; the manual clock starts exactly at timestamp 1700000000.
    let t = signed_server().await;
    let r = t
        .get("/v2/presence/sub-key/mySubscribeKey/channel/ch1,ch2?auth=myAuth&channel-group=cg1%2Ccg2&limit=1000&pnsdk=PubNub-Python%2F10.4.0&state=1&timestamp=1700000000&uuid=myUUID&signature=v2.xEK_XMGO9mfBpnmCiMR6r7UvI6Hx84Qmbun_TZ28Hss")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // same parameters, raw commas and another order on the wire (python sends it like this)
    let r = t
        .get("/v2/presence/sub-key/mySubscribeKey/channel/ch1,ch2?uuid=myUUID&channel-group=cg1,cg2&state=1&limit=1000&auth=myAuth&pnsdk=PubNub-Python/10.4.0&timestamp=1700000000&signature=v2.xEK_XMGO9mfBpnmCiMR6r7UvI6Hx84Qmbun_TZ28Hss")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .get("/v2/presence/sub-key/mySubscribeKey/channel/ch1/heartbeat?heartbeat=300&pnsdk=PubNub-Python%2F10.4.0&state=%7B%22ch1%22%3A%7B%22age%22%3A20%7D%7D&timestamp=1700000000&uuid=my%20UUID&signature=v2.LCcxJpZi0U2M-Lggw_gppx3_YT2GpnlB_krgpY4S4XA")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, HEARTBEAT_OK);
}

#[tokio::test]
async fn signed_requests_work_across_endpoints() {
    let t = signed_server().await;
    let hb = sign(&t, "/v2/presence/sub-key/demo/channel/a,b/heartbeat", "uuid=alice&heartbeat=60");
    t.expect_body(&hb, HEARTBEAT_OK).await;
    let hn = sign(&t, "/v2/presence/sub-key/demo/channel/a", "uuid=alice");
    t.expect_body(&hn, r#"{"message":"OK","occupancy":1,"service":"Presence","status":200,"uuids":["alice"]}"#).await;
    let reg = sign(&t, "/v1/channel-registration/sub-key/demo/channel-group/g", "add=a&uuid=alice");
    t.expect_body(&reg, REGISTRY_OK).await;
}

#[tokio::test]
async fn unsigned_wrong_or_stale_requests_get_access_manager_403() {
    let t = signed_server().await;
    let path = "/v2/presence/sub-key/demo/channel/demo/leave";
    let denied_channels = "{\"message\":\"Forbidden\",\"payload\":{\"channels\":[\"demo\"]},\"error\":true,\"service\":\"Access Manager\",\"status\":403}\n";

    // no signature at all
    let r = t.get(&format!("{path}?uuid=u")).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body, denied_channels);
    assert_eq!(r.content_type, "text/javascript; charset=UTF-8");

    // a signature over different parameters
    let good = sign(&t, path, "uuid=u");
    let tampered = good.replace("uuid=u", "uuid=v");
    assert_eq!(t.get(&tampered).await.body, denied_channels);

    // a valid signature made with another secret
    let ts = 1_700_000_000u64;
    let q = format!("uuid=u&timestamp={ts}");
    let other = sign_v2("not-the-secret", PUBLISH, "GET", path, &parse_query(&q), "");
    assert_eq!(t.get(&format!("{path}?{q}&signature={other}")).await.status, 403);

    // the valid request is accepted now, and refused once the clock moved 61 s on
    let r = t.get(&good).await;
    assert_eq!(r.status, 200, "{}", r.body);
    t.clock.advance(Duration::from_secs(61));
    assert_eq!(t.get(&good).await.status, 403);

    // group-only request: groups reported with the ':' namespace prefix
    let r = t.get("/v2/presence/sub_key/demo/channel/,/leave?channel-group=test-channel-group1&uuid=Serhii").await;
    assert_eq!(
        r.body,
        "{\"message\":\"Forbidden\",\"payload\":{\"channel-groups\":[\":test-channel-group1\"]},\"error\":true,\"service\":\"Access Manager\",\"status\":403}\n"
    );
}
