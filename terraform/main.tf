# Renders everything a meshnet deployment needs into artifacts/ with
# Terraform's built-in features only (terraform_data + local-exec +
# templatefile): no provider is downloaded, so `terraform init && terraform
# apply` works offline.
#
#   artifacts/
#     ca/ca.key (0600) ca.crt                    TLS CA (stays here: not mounted anywhere)
#     controller/
#       nodes.json                               enrolment file (meshnetd --nodes)
#       admin.token (0600)                       admin bearer token
#       meshnetd.conf                            controller config
#       evaluators.json policy.conf              evaluators and their policy (if given)
#       tls/server.key (0600) server.crt ca.crt  what meshnetd serves
#       state/                                   meshnetd's state directory (read-write)
#     nodes/<name>/
#       wireguard.key (0600) wireguard.pub       WireGuard key pair
#       ed25519.pem (0600) ed25519.key (0600) ed25519.pub   request-signing identity
#       wg0.conf (0600)                          WireGuard config template (wg-quick)
#       agent.conf                               meshnet-agent config
#       ca.crt                                   to verify the controller
#
# Keys are generated once; re-applying keeps them. Rotate a node's keys by
# bumping its key_generation (or `terraform apply -replace='terraform_data.node_keys["node-a"]'`),
# the admin token with admin_token_generation, the PKI with pki_generation.

terraform {
  required_version = ">= 1.4"
}

locals {
  artifacts = abspath(coalesce(var.artifacts_dir, "${path.module}/../artifacts"))
  scripts   = abspath("${path.module}/scripts")
  nodes     = { for n in var.nodes : n.name => n }

  # wg0 Address: the node's host address with the overlay network's prefix length.
  addresses = { for name, n in local.nodes : name => [
    for p in n.overlay : "${split("/", p)[0]}/${strcontains(p, ":") ? var.overlay_prefix_length.ipv6 : var.overlay_prefix_length.ipv4}"
  ] }

  # The enrolment file: field names of docs/PROTOCOL.md. Keys are placeholders
  # filled by scripts/render.sh once they exist.
  enrolment = jsonencode({
    nodes = [for n in var.nodes : {
      id                 = n.name
      wg_public_key      = "@@WG_PUB:${n.name}@@"
      ed25519_public_key = "@@ED25519_PUB:${n.name}@@"
      overlay            = n.overlay
      endpoint           = n.endpoint
      tags               = n.tags
    }]
  })

  # Evaluators and their policy (docs/policy.md): enrolled at meshnetd's start.
  evaluators_file = jsonencode({
    evaluators = [for e in var.evaluators : { evaluator_id = e.id, public_key = e.public_key }]
  })

  node_files = { for name, n in local.nodes : name => {
    "wg0.conf" = {
      mode = "0600"
      content = templatefile("${path.module}/templates/wg0.conf.tftpl", {
        name      = name
        addresses = local.addresses[name]
        port      = regex(":([0-9]+)$", n.endpoint)[0]
        peers     = [for p in var.nodes : p if p.name != name]
      })
    }
    "agent.conf" = {
      mode = "0644"
      content = templatefile("${path.module}/templates/agent.conf.tftpl", {
        name           = name
        controller_url = var.controller_url
        score          = n.score
        demo_scores    = var.demo_scores
        bench_cmd      = n.bench_cmd
        port           = regex(":([0-9]+)$", n.endpoint)[0]
        overlay        = n.overlay
        endpoint       = n.endpoint
      })
    }
  } }

  # "postgres": the compose file's postgres service, password from pgpass.
  controller_store = var.controller_store == "postgres" ? "postgres://meshnet@postgres:5432/meshnet?passfile=/etc/meshnet/pgpass&connect_timeout=5" : var.controller_store

  controller_conf = templatefile("${path.module}/templates/meshnetd.conf.tftpl", {
    listen        = var.controller_listen
    threshold     = var.threshold
    epoch_seconds = var.epoch_seconds
    store         = local.controller_store
    demo_scores   = var.demo_scores
    policy        = var.policy != ""
    evaluators    = length(var.evaluators) > 0
  })
}

# The artifacts directory itself: created first, removed last (only if it
# carries our marker, so a mistyped artifacts_dir is never wiped).
resource "terraform_data" "artifacts" {
  input = { dir = local.artifacts }

  lifecycle {
    precondition {
      condition     = var.demo_scores || alltrue([for n in var.nodes : n.bench_cmd != ""])
      error_message = "nodes: every node needs a bench_cmd (its benchmark harness), or set demo_scores = true for made-up demo scores."
    }
  }

  provisioner "local-exec" {
    command     = "umask 022 && mkdir -p \"$D/nodes\" \"$D/controller/state\" && touch \"$D/.meshnet-artifacts\" && chmod 0755 \"$D\" \"$D/nodes\" \"$D/controller\" && chmod 0700 \"$D/controller/state\""
    environment = { D = self.input.dir }
  }
  provisioner "local-exec" {
    when = destroy
    # The controller's state and audit log outlive a destroy unless asked:
    # MESHNET_DESTROY_STATE=1 terraform destroy
    command     = "if [ -f \"$D/.meshnet-artifacts\" ]; then if [ \"$${MESHNET_DESTROY_STATE:-0}\" = 1 ]; then rm -rf \"$D/controller/state\"; elif [ -d \"$D/controller/state\" ]; then echo \"kept the controller's state and audit log in $D/controller/state (MESHNET_DESTROY_STATE=1 terraform destroy removes them)\"; fi; rm -f \"$D/.meshnet-artifacts\" \"$D/status.json\" && find \"$D\" -depth -type d -empty -delete; fi"
    environment = { D = self.input.dir }
  }
}

resource "terraform_data" "ca" {
  depends_on       = [terraform_data.artifacts]
  triggers_replace = { generation = var.pki_generation }
  input            = { dir = local.artifacts, scripts = local.scripts, days = var.tls_days }

  provisioner "local-exec" {
    command = "bash '${self.input.scripts}/pki.sh' ca create '${self.input.dir}' ${self.input.days}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "bash '${self.input.scripts}/pki.sh' ca destroy '${self.input.dir}'"
  }
}

resource "terraform_data" "server_cert" {
  triggers_replace = { ca = terraform_data.ca.id, san = join(",", var.controller_san) }
  input            = { dir = local.artifacts, scripts = local.scripts, days = var.tls_days, san = join(",", var.controller_san) }

  provisioner "local-exec" {
    command = "bash '${self.input.scripts}/pki.sh' server create '${self.input.dir}' ${self.input.days} '${self.input.san}'"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "bash '${self.input.scripts}/pki.sh' server destroy '${self.input.dir}'"
  }
}

resource "terraform_data" "admin_token" {
  depends_on       = [terraform_data.artifacts]
  triggers_replace = { generation = var.admin_token_generation }
  input            = { dir = local.artifacts, scripts = local.scripts }

  provisioner "local-exec" {
    command = "bash '${self.input.scripts}/admin-token.sh' create '${self.input.dir}'"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "bash '${self.input.scripts}/admin-token.sh' destroy '${self.input.dir}'"
  }
}

# With a PostgreSQL store: the key sealing epoch secrets, shared by every
# controller, and the database password (scripts/store-secrets.sh).
resource "terraform_data" "store_secrets" {
  count      = var.controller_store == "" ? 0 : 1
  depends_on = [terraform_data.artifacts]
  input      = { dir = local.artifacts, scripts = local.scripts }

  provisioner "local-exec" {
    command = "bash '${self.input.scripts}/store-secrets.sh' create '${self.input.dir}'"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "bash '${self.input.scripts}/store-secrets.sh' destroy '${self.input.dir}'"
  }
}

resource "terraform_data" "node_keys" {
  for_each         = local.nodes
  depends_on       = [terraform_data.artifacts]
  triggers_replace = { generation = each.value.key_generation }
  input            = { dir = local.artifacts, scripts = local.scripts, name = each.key }

  provisioner "local-exec" {
    command = "bash '${self.input.scripts}/node-keys.sh' create '${self.input.dir}' '${self.input.name}'"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "bash '${self.input.scripts}/node-keys.sh' destroy '${self.input.dir}' '${self.input.name}'"
  }
}

# Every file that embeds keys is re-rendered when any node's keys change.
resource "terraform_data" "node_files" {
  for_each = { for pair in flatten([for name, files in local.node_files : [
    for file, f in files : { key = "${name}/${file}", name = name, file = file, mode = f.mode, content = f.content }
  ]]) : pair.key => pair }
  triggers_replace = {
    content = sha256(each.value.content)
    mode    = each.value.mode
    keys    = join(",", [for k in terraform_data.node_keys : k.id])
  }
  input = { dir = local.artifacts, scripts = local.scripts, rel = "nodes/${each.key}" }

  provisioner "local-exec" {
    command     = "bash '${self.input.scripts}/render.sh' create '${self.input.dir}' '${self.input.rel}' ${each.value.mode}"
    environment = { CONTENT = each.value.content }
  }
  provisioner "local-exec" {
    when    = destroy
    command = "bash '${self.input.scripts}/render.sh' destroy '${self.input.dir}' '${self.input.rel}'"
  }
}

resource "terraform_data" "node_ca" {
  for_each         = local.nodes
  depends_on       = [terraform_data.node_keys]
  triggers_replace = { ca = terraform_data.ca.id }
  input            = { dir = local.artifacts, name = each.key }

  provisioner "local-exec" {
    command     = "install -m 0644 \"$D/ca/ca.crt\" \"$D/nodes/$N/ca.crt\""
    environment = { D = self.input.dir, N = self.input.name }
  }
  provisioner "local-exec" {
    when        = destroy
    command     = "rm -f \"$D/nodes/$N/ca.crt\""
    environment = { D = self.input.dir, N = self.input.name }
  }
}

resource "terraform_data" "controller_files" {
  for_each = merge({
    "controller/nodes.json"    = local.enrolment
    "controller/meshnetd.conf" = local.controller_conf
    },
    length(var.evaluators) > 0 ? { "controller/evaluators.json" = local.evaluators_file } : {},
  var.policy != "" ? { "controller/policy.conf" = var.policy } : {})
  depends_on = [terraform_data.artifacts]
  triggers_replace = {
    content = sha256(each.value)
    keys    = join(",", [for k in terraform_data.node_keys : k.id])
  }
  input = { dir = local.artifacts, scripts = local.scripts, rel = each.key }

  provisioner "local-exec" {
    command     = "bash '${self.input.scripts}/render.sh' create '${self.input.dir}' '${self.input.rel}' 0644"
    environment = { CONTENT = each.value }
  }
  provisioner "local-exec" {
    when    = destroy
    command = "bash '${self.input.scripts}/render.sh' destroy '${self.input.dir}' '${self.input.rel}'"
  }
}
