//! Spec text shared by the generator's test binaries.

/// A valid `spec/api.yaml`.
pub const API: &str = "\
package: demo-presence
version: 0.3.1
description: d
docs: d
client:
  name: Client
  docs: d
config_values:
  - name: subscribe_key
  - name: user_id
";
