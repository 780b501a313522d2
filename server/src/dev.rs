//! The development endpoints under `/dev/`: the fault rules
//! (`GET`/`PUT`/`DELETE /dev/faults`) and the request log
//! (`GET /dev/requests?after=SEQ`) and a snapshot of the groups and
//! presence (`GET /dev/snapshot`, the format `--import` loads). They are served only when
//! [`ServerConfig::dev_endpoints_enabled`](crate::ServerConfig::dev_endpoints_enabled)
//! says so, and with a secret key they need a signature like every other request.

use http::Method;

use crate::faults::FaultSet;
use crate::reply::Reply;
use crate::routing::Query;
use crate::signature::SignedRequest;
use crate::snapshot::Snapshot;
use crate::state::ServerState;

const JSON: &str = "application/json";

/// The answer to a request for `/dev/…`.
pub(crate) fn handle(server: &ServerState, method: &Method, path: &str, raw_query: &str, body: &[u8]) -> Reply {
    let now = server.clock.now_millis();
    let text = std::str::from_utf8(body).unwrap_or_default();
    // Signed over the body (signature v2), or over an empty one.
    let signed = [text, ""].iter().any(|body| {
        let req = SignedRequest { method: method.as_str(), raw_path: path, raw_query, sub_key: "", body };
        server.check_signature(&req, now).is_ok()
    });
    if !signed {
        return Reply::forbidden(&[], &[]);
    }
    match path {
        "/dev/faults" => {
            if *method == Method::PUT {
                let text = String::from_utf8_lossy(body);
                match FaultSet::from_json(&text) {
                    Ok(set) => {
                        tracing::info!("fault rules replaced: {} rule(s), seed {}", set.len(), set.seed());
                        server.faults.replace(set);
                    }
                    Err(message) => return Reply::bad_request(&message),
                }
            } else if *method == Method::DELETE {
                tracing::info!("fault rules cleared");
                server.faults.replace(FaultSet::default());
            } else if *method != Method::GET && *method != Method::HEAD {
                return Reply::method_not_allowed();
            }
            Reply::page(JSON, server.faults.to_json())
        }
        "/dev/requests" => {
            if *method != Method::GET && *method != Method::HEAD {
                return Reply::method_not_allowed();
            }
            let query = Query::parse(raw_query);
            let after = match query.get("after").map(str::parse::<u64>) {
                None => 0,
                Some(Ok(after)) => after,
                Some(Err(_)) => return Reply::bad_request("after: must be a whole number"),
            };
            Reply::page(JSON, server.request_log.to_json(after))
        }
        "/dev/snapshot" => {
            if *method != Method::GET && *method != Method::HEAD {
                return Reply::method_not_allowed();
            }
            Reply::page(JSON, Snapshot::of(&server.store, server.clock.now_millis()).to_json())
        }
        _ => Reply::not_found(),
    }
}
