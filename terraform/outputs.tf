output "artifacts_dir" {
  description = "Where the deployment was rendered."
  value       = local.artifacts
}

output "nodes" {
  description = "Per node: its directory under artifacts/ and its overlay addresses."
  value       = { for name, n in local.nodes : name => { dir = "${local.artifacts}/nodes/${name}", overlay = n.overlay, endpoint = n.endpoint } }
}

output "controller" {
  description = "Files meshnetd is started with."
  value = {
    url         = var.controller_url
    nodes_file  = "${local.artifacts}/controller/nodes.json"
    admin_token = "${local.artifacts}/controller/admin.token"
    tls_cert    = "${local.artifacts}/controller/tls/server.crt"
    tls_key     = "${local.artifacts}/controller/tls/server.key"
    ca          = "${local.artifacts}/ca/ca.crt"
  }
}
